import { graphql } from "../gql";
import type { EventsSubscription } from "../gql/graphql";

/** Everything about the viewer's conversations, resumable from a cursor. The `session`
 *  snapshot (as the viewer sees it now) carries the unread counts, mute and inbox order;
 *  `message` (as it is now) carries its reactions for REACTION_ADDED / REACTION_REMOVED. */
export const EventsSubscriptionDocument = graphql(`
  subscription Events($after: String) {
    events(after: $after) {
      cursor
      kind
      at
      sessionId
      session {
        id
        kind
        title
        lastActivityAt
        unreadCount
        unreadMentionCount
        mutedUntil
        viewerReadUpTo
        viewerRole
      }
      message {
        ...MessageFields
      }
      actor {
        id
        displayName
      }
      user {
        ...UserFields
        blockedByViewer
      }
      readUpTo
      title
      emoji
      role
    }
  }
`);

/** One event of the stream. */
export type LiveEvent = EventsSubscription["events"];

/** Where the event stream stands now: the stream starts from it when it has no cursor of
 *  its own, before the client loads anything (see `EventStream`). */
export const EventsCursorQuery = graphql(`
  query EventsCursor {
    eventsCursor
  }
`);
