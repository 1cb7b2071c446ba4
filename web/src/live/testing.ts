// Builders of API-shaped values for the unit tests.
import type { ChatMessage } from "../conversation/messagesState";
import type { InboxSession } from "../inbox/inboxState";
import type { LiveEvent } from "./operations";

/** A user as the API returns one. */
export function user(id: string, displayName = id) {
  return { id, username: id.toLowerCase(), displayName, avatar: null, blockedByViewer: false };
}

/** A stored message. */
export function message(seq: number, over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id: `m${seq}`,
    seq,
    body: `message ${seq}`,
    createdAt: new Date(Date.UTC(2025, 0, 1, 12, 0, seq)).toISOString(),
    editedAt: null,
    deletedAt: null,
    clientMessageId: null,
    sender: user("bob", "Bob"),
    senderBlocked: false,
    reactions: [],
    mentions: [],
    attachments: [],
    replyTo: null,
    ...over,
  };
}

/** A conversation's inbox entry: direct between "me" and Bob unless overridden. */
export function session(id: string, over: Partial<InboxSession> = {}): InboxSession {
  return {
    id,
    kind: "DIRECT",
    title: null,
    lastActivityAt: "2025-01-01T12:00:00.000Z",
    unreadCount: 0,
    unreadMentionCount: 0,
    mutedUntil: null,
    viewerReadUpTo: 0,
    viewerRole: "MEMBER",
    members: [
      { role: "MEMBER", readUpTo: 0, user: user("me", "Me") },
      { role: "MEMBER", readUpTo: 0, user: user("bob", "Bob") },
    ],
    lastMessage: null,
    ...over,
  };
}

/** A live event of `kind` about session `sessionId`, with a snapshot from `snapshot`. */
export function event(
  kind: LiveEvent["kind"],
  sessionId: string | null,
  over: Partial<LiveEvent> = {},
  snapshot: Partial<NonNullable<LiveEvent["session"]>> = {},
): LiveEvent {
  return {
    cursor: `c-${Math.random().toString(36).slice(2)}`,
    kind,
    at: "2025-01-01T12:00:00.000Z",
    sessionId,
    session: sessionId
      ? {
          id: sessionId,
          kind: "DIRECT",
          title: null,
          lastActivityAt: "2025-01-01T12:00:00.000Z",
          unreadCount: 0,
          unreadMentionCount: 0,
          mutedUntil: null,
          viewerReadUpTo: 0,
          viewerRole: "MEMBER",
          ...snapshot,
        }
      : null,
    message: null,
    actor: null,
    user: null,
    readUpTo: null,
    title: null,
    emoji: null,
    role: null,
    ...over,
  };
}
