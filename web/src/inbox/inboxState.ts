import type { SessionFieldsFragment } from "../gql/graphql";
import type { LiveEvent } from "../live/operations";

/** A conversation as the inbox keeps it (also the source of members and read markers). */
export type InboxSession = SessionFieldsFragment;

/** The viewer's conversations, most recent activity first. */
export interface InboxState {
  sessions: Readonly<Record<string, InboxSession>>;
  /** Session ids by `lastActivityAt`, newest first. */
  order: readonly string[];
  endCursor: string | null;
  hasNextPage: boolean;
  /** True once the first page arrived. */
  loaded: boolean;
}

/** The inbox before anything loaded. */
export const emptyInbox: InboxState = {
  sessions: {},
  order: [],
  endCursor: null,
  hasNextPage: false,
  loaded: false,
};

/**
 * Orders two RFC 3339 instants (negative: `a` is earlier) to the nanosecond: the server
 * keeps microseconds, `Date.parse` stops at the millisecond.
 */
export function compareInstants(a: string, b: string): number {
  const byMillisecond = Date.parse(a) - Date.parse(b);
  return byMillisecond !== 0 ? byMillisecond : belowMillisecond(a) - belowMillisecond(b);
}

/** The digits of an instant's fraction after the millisecond, as nanoseconds. */
function belowMillisecond(instant: string): number {
  const fraction = /\.(\d+)/.exec(instant)?.[1] ?? "";
  return Number(fraction.padEnd(9, "0").slice(3, 9));
}

/** Session ids in the server's order: most recent activity first, then the higher id. */
export function orderSessions(sessions: Readonly<Record<string, InboxSession>>): string[] {
  return Object.values(sessions)
    .sort((a, b) => {
      const byTime = compareInstants(b.lastActivityAt, a.lastActivityAt);
      return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
    })
    .map((s) => s.id);
}

function withSessions(state: InboxState, sessions: Record<string, InboxSession>): InboxState {
  return { ...state, sessions, order: orderSessions(sessions) };
}

/**
 * What the inbox keeps when a fetched copy of a conversation (a page of `sessions`, or
 * one conversation) meets the one it holds, which live events may have made newer than
 * the fetch. The copy with the later `lastActivityAt` (new messages and renames move it;
 * on a tie the fetched one) gives title, kind, role and members. What only ever moves
 * forward takes the furthest of the two, whichever copy it comes from:
 * - the viewer's read marker, with the unread counts that go with it (a `READ_MARKER`
 *   event or a `markRead` answer clears the count without touching `lastActivityAt`, so
 *   an older fetch must not bring the count back),
 * - each member's read marker,
 * - the last message (highest `seq`; for the same message, the edited or deleted state).
 */
export function freshestSession(held: InboxSession, fetched: InboxSession): InboxSession {
  if (held === fetched) return held;
  const heldNewer = compareInstants(held.lastActivityAt, fetched.lastActivityAt) > 0;
  const base = heldNewer ? held : fetched;
  const other = heldNewer ? fetched : held;
  // The read state of the copy whose marker is further (on a tie: the fresher copy's
  // count, unless the other one is lower: counts only go up with new activity).
  const readOf = (s: InboxSession) => ({
    viewerReadUpTo: s.viewerReadUpTo,
    unreadCount: s.unreadCount,
    unreadMentionCount: s.unreadMentionCount,
  });
  let read = readOf(base);
  if (other.viewerReadUpTo > base.viewerReadUpTo) {
    read = readOf(other);
  } else if (
    other.viewerReadUpTo === base.viewerReadUpTo &&
    compareInstants(other.lastActivityAt, base.lastActivityAt) === 0 &&
    other.unreadCount < base.unreadCount
  ) {
    read.unreadCount = other.unreadCount;
    read.unreadMentionCount = Math.min(other.unreadMentionCount, base.unreadMentionCount);
  }
  const otherMarkers = new Map(other.members.map((m) => [m.user.id, m.readUpTo]));
  const members = base.members.map((m) => {
    const upTo = otherMarkers.get(m.user.id);
    return upTo !== undefined && upTo > m.readUpTo ? { ...m, readUpTo: upTo } : m;
  });
  return {
    ...base,
    ...read,
    members: members.some((m, i) => m !== base.members[i]) ? members : base.members,
    lastMessage: laterMessage(base.lastMessage, other.lastMessage),
  };
}

type LastMessage = InboxSession["lastMessage"];

/** The later of two "last message" values: higher seq; for the same message, the one
 *  deleted, else the one edited last. */
function laterMessage(a: LastMessage, b: LastMessage): LastMessage {
  if (!a || !b) return a ?? b;
  if (a.seq !== b.seq) return a.seq > b.seq ? a : b;
  if (!!a.deletedAt !== !!b.deletedAt) return a.deletedAt ? a : b;
  const editedA = a.editedAt ? Date.parse(a.editedAt) : 0;
  const editedB = b.editedAt ? Date.parse(b.editedAt) : 0;
  return editedB > editedA ? b : a;
}

/**
 * A page of `sessions` arrived: the first page replaces the inbox, later pages add to it.
 * A conversation the inbox already holds keeps what is newer (see freshestSession): a
 * page fetched before a live update must not undo it.
 */
export function inboxPageLoaded(
  state: InboxState,
  nodes: readonly InboxSession[],
  pageInfo: { endCursor?: string | null; hasNextPage: boolean },
  append: boolean,
): InboxState {
  const sessions: Record<string, InboxSession> = append ? { ...state.sessions } : {};
  for (const node of nodes) {
    const held = state.sessions[node.id];
    sessions[node.id] = held ? freshestSession(held, node) : node;
  }
  return {
    ...withSessions(state, sessions),
    endCursor: pageInfo.endCursor ?? null,
    hasNextPage: pageInfo.hasNextPage,
    loaded: true,
  };
}

/** Adds or replaces one conversation (the result of an event). */
export function upsertSession(state: InboxState, session: InboxSession): InboxState {
  return withSessions(state, { ...state.sessions, [session.id]: session });
}

/** Adds one conversation fetched on its own, keeping what the inbox holds that is newer. */
export function sessionFetched(state: InboxState, session: InboxSession): InboxState {
  const held = state.sessions[session.id];
  return upsertSession(state, held ? freshestSession(held, session) : session);
}

/** Drops a conversation the viewer left or was removed from. */
export function removeSession(state: InboxState, id: string): InboxState {
  if (!state.sessions[id]) return state;
  const sessions = { ...state.sessions };
  delete sessions[id];
  return withSessions(state, sessions);
}

/** Sets the viewer's read marker and unread counts (the answer of `markRead`). */
export function sessionRead(
  state: InboxState,
  id: string,
  viewerReadUpTo: number,
  unreadCount: number,
  unreadMentionCount: number = 0,
): InboxState {
  const session = state.sessions[id];
  if (!session) return state;
  // An answer older than what the inbox knows (another tab, or a later request of this
  // one, read further meanwhile): the marker never moves back.
  if (viewerReadUpTo < session.viewerReadUpTo) return state;
  if (
    session.viewerReadUpTo === viewerReadUpTo &&
    session.unreadCount === unreadCount &&
    session.unreadMentionCount === unreadMentionCount
  ) {
    return state;
  }
  return {
    ...state,
    sessions: {
      ...state.sessions,
      [id]: { ...session, viewerReadUpTo, unreadCount, unreadMentionCount },
    },
  };
}

/** Sets until when the viewer muted a conversation (the answer of mute / unmute). */
export function sessionMuted(state: InboxState, id: string, mutedUntil: string | null): InboxState {
  const session = state.sessions[id];
  if (!session || session.mutedUntil === mutedUntil) return state;
  return { ...state, sessions: { ...state.sessions, [id]: { ...session, mutedUntil } } };
}

/** The viewer blocked (or unblocked) `userId`: every conversation's member entry and last
 *  message say so. Keeps the order (blocking moves nothing). */
export function userBlockChanged(state: InboxState, userId: string, blocked: boolean): InboxState {
  let changed = false;
  const sessions: Record<string, InboxSession> = {};
  for (const [id, session] of Object.entries(state.sessions)) {
    let next = session;
    if (session.members.some((m) => m.user.id === userId && m.user.blockedByViewer !== blocked)) {
      next = {
        ...next,
        members: session.members.map((m) =>
          m.user.id === userId ? { ...m, user: { ...m.user, blockedByViewer: blocked } } : m,
        ),
      };
    }
    const last = session.lastMessage;
    if (last && last.sender.id === userId && last.senderBlocked !== blocked) {
      next = { ...next, lastMessage: { ...last, senderBlocked: blocked } };
    }
    if (next !== session) changed = true;
    sessions[id] = next;
  }
  return changed ? { ...state, sessions } : state;
}

/** True when reading up to `upTo` would tell the server something new: the marker is
 *  behind it (or unread messages remain), and no request for it or further is on its way. */
export function shouldMarkRead(
  session: InboxSession | undefined,
  upTo: number,
  requested: number,
): boolean {
  if (!session || upTo <= 0 || requested >= upTo) return false;
  return upTo > session.viewerReadUpTo;
}

/** Event kinds that bring a conversation the inbox does not hold yet into view. */
const FETCH_WHEN_UNKNOWN = new Set<LiveEvent["kind"]>([
  "MESSAGE_CREATED",
  "SESSION_CREATED",
  "MEMBER_ADDED",
  "SESSION_RENAMED",
]);

/** What applying an event to the inbox gives: the new state, and a conversation the
 *  inbox must fetch because the event concerns one it does not hold. */
export interface InboxEventResult {
  state: InboxState;
  fetchSession: string | null;
}

/**
 * Applies one live event. The event's `session` snapshot is the truth for the title,
 * activity time, unread counts, mute and the viewer's marker; members, roles, read markers and
 * the last message follow from the event itself. Applying an event twice changes
 * nothing more than applying it once (replays after a resume are harmless).
 */
export function applyEventToInbox(
  state: InboxState,
  event: LiveEvent,
  viewerId: string,
): InboxEventResult {
  const id = event.sessionId;
  if (!id || event.kind === "TYPING" || event.kind === "LAGGED" || event.kind === "RESYNC") {
    return { state, fetchSession: null };
  }
  if (!event.session) return { state: removeSession(state, id), fetchSession: null };
  const existing = state.sessions[id];
  if (!existing) {
    const fetch = state.loaded && FETCH_WHEN_UNKNOWN.has(event.kind);
    return { state, fetchSession: fetch ? id : null };
  }
  const snapshot = event.session;
  let next: InboxSession = {
    ...existing,
    kind: snapshot.kind,
    title: snapshot.title,
    lastActivityAt: snapshot.lastActivityAt,
    unreadCount: snapshot.unreadCount,
    unreadMentionCount: snapshot.unreadMentionCount,
    mutedUntil: snapshot.mutedUntil,
    viewerReadUpTo: snapshot.viewerReadUpTo,
    viewerRole: snapshot.viewerRole,
  };
  const message = event.message;
  const user = event.user;
  switch (event.kind) {
    case "MESSAGE_CREATED":
    case "MESSAGE_EDITED":
    case "MESSAGE_DELETED":
      if (message && (!next.lastMessage || message.seq >= next.lastMessage.seq)) {
        next = { ...next, lastMessage: message };
      }
      break;
    case "REACTION_ADDED":
    case "REACTION_REMOVED":
    case "MENTIONED":
      // The message as it is now; the last message only if it is that one.
      if (message && next.lastMessage?.id === message.id) next = { ...next, lastMessage: message };
      break;
    case "MEMBER_ADDED":
      if (user && !next.members.some((m) => m.user.id === user.id)) {
        next = {
          ...next,
          members: [...next.members, { role: event.role ?? "MEMBER", readUpTo: 0, user }],
        };
      }
      break;
    case "MEMBER_REMOVED":
    case "MEMBER_LEFT":
      if (user) next = { ...next, members: next.members.filter((m) => m.user.id !== user.id) };
      break;
    case "MEMBER_ROLE_CHANGED":
      if (user && event.role) {
        const role = event.role;
        next = {
          ...next,
          members: next.members.map((m) => (m.user.id === user.id ? { ...m, role } : m)),
        };
      }
      break;
    case "READ_MARKER":
      if (user && event.readUpTo != null) {
        const upTo = event.readUpTo;
        next = {
          ...next,
          members: next.members.map((m) =>
            m.user.id === user.id && upTo > m.readUpTo ? { ...m, readUpTo: upTo } : m,
          ),
        };
        if (user.id === viewerId && upTo > next.viewerReadUpTo) next = { ...next, viewerReadUpTo: upTo };
      }
      break;
    default:
      break;
  }
  return { state: upsertSession(state, next), fetchSession: null };
}

/** The name the inbox and header show: the group's title, or the other person's name. */
export function sessionTitle(session: InboxSession, viewerId: string): string {
  if (session.title) return session.title;
  const others = session.members.filter((m) => m.user.id !== viewerId);
  if (others.length === 0) return session.members[0]?.user.displayName ?? "Conversation";
  return others.map((m) => m.user.displayName).join(", ");
}

/** The picture the inbox shows: the other person's, in a direct conversation. */
export function sessionAvatarUrl(session: InboxSession, viewerId: string): string | null {
  if (session.kind !== "DIRECT") return null;
  const other = session.members.find((m) => m.user.id !== viewerId);
  return other?.user.avatar?.url ?? null;
}

/** The badge text of an unread count: none at 0, "999+" from 1,000 (where counting stops). */
export function unreadBadge(count: number): string | null {
  if (count <= 0) return null;
  return count >= 1000 ? "999+" : String(count);
}

/** The accessible name of the "@" badge: "2 unread mentions"; none at 0. */
export function mentionBadgeLabel(count: number): string | null {
  const shown = unreadBadge(count);
  if (!shown) return null;
  return `${shown} unread ${count === 1 ? "mention" : "mentions"}`;
}
