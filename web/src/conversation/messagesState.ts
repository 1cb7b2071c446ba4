import type { MessageFieldsFragment } from "../gql/graphql";
import type { InboxSession } from "../inbox/inboxState";
import type { LiveEvent } from "../live/operations";
import type { ReactionOverlay } from "./reactions";

/** A stored message. */
export type ChatMessage = MessageFieldsFragment;

/** What a reply quotes. */
export type ReplyQuote = NonNullable<ChatMessage["replyTo"]>;

/** An own message not stored yet: "Sending…", or "Not sent" (failed, may be retried),
 *  or refused by the server (shows why; sending it again would not help). */
/** A file a message on its way carries. */
export interface PendingAttachment {
  id: string;
  name: string;
}

export interface PendingMessage {
  clientMessageId: string;
  body: string;
  replyTo: ReplyQuote | null;
  /** Members picked from the mention menu (sent as `mentionIds`). */
  mentionIds?: readonly string[];
  /** Uploaded files it carries (sent as `attachmentIds`), shown by name until stored. */
  attachments?: readonly PendingAttachment[];
  createdAt: string;
  status: "sending" | "failed" | "refused";
  error: string | null;
}

/** One open conversation's history: a contiguous run of messages up to the newest. */
export interface ConversationState {
  /** Stored messages, by `seq`, each id once. */
  messages: readonly ChatMessage[];
  /** More history before `messages[0]`. */
  hasOlder: boolean;
  /** Cursor for `messages(last:, before:)`. */
  startCursor: string | null;
  pending: readonly PendingMessage[];
  /** The viewer's reaction toggles on their way (see reactions.ts). */
  reacting: ReactionOverlay;
}

/** One page of `Session.messages`, oldest first. */
export interface MessagePage {
  messages: readonly ChatMessage[];
  hasPreviousPage: boolean;
  startCursor: string | null;
}

/** A conversation before its first page. */
export const emptyConversation: ConversationState = {
  messages: [],
  hasOlder: false,
  startCursor: null,
  pending: [],
  reacting: {},
};

/** The sizes of the message list that matter for paging (virtua's VListHandle has them). */
export interface ListViewport {
  /** Height of the whole history as laid out (px). */
  scrollSize: number;
  /** Height of the visible part (px). */
  viewportSize: number;
}

/**
 * True when the next older page must be requested because the history does not fill the
 * list: with nothing to scroll, the reader cannot scroll up to ask for it (a short first
 * page on a tall screen). Called after each render of a page; loading stops once the list
 * scrolls or the connection has no previous page. A list with no height (not laid out,
 * hidden) asks for nothing: it would page through the whole history.
 */
export function needsOlderToFill(
  conversation: Pick<ConversationState, "hasOlder" | "messages">,
  view: ListViewport,
): boolean {
  if (!conversation.hasOlder || conversation.messages.length === 0) return false;
  if (view.viewportSize <= 0) return false;
  // Not scrollable (a pixel of rounding aside).
  return view.scrollSize <= view.viewportSize + 1;
}

/** Merges messages into a sorted, id-unique list; a later copy of an id replaces it. */
export function mergeMessages(
  list: readonly ChatMessage[],
  incoming: readonly ChatMessage[],
): ChatMessage[] {
  const byId = new Map<string, ChatMessage>();
  for (const m of list) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

function dropStoredPending(
  pending: readonly PendingMessage[],
  stored: readonly ChatMessage[],
): readonly PendingMessage[] {
  if (pending.length === 0) return pending;
  const ids = new Set(stored.map((m) => m.clientMessageId).filter((id) => id != null));
  const rest = pending.filter((p) => !ids.has(p.clientMessageId));
  return rest.length === pending.length ? pending : rest;
}

/**
 * The newest page arrived (first open, or a refetch after RESYNC). Messages the state
 * already holds that are newer than the page (they came live while it loaded) are kept;
 * older ones are dropped so the history stays one contiguous run.
 */
export function newestPageLoaded(
  previous: ConversationState | undefined,
  page: MessagePage,
): ConversationState {
  const first = page.messages[0]?.seq ?? Infinity;
  const last = page.messages[page.messages.length - 1]?.seq ?? 0;
  const live = (previous?.messages ?? []).filter((m) => m.seq > last);
  const messages = mergeMessages(page.messages, live).filter(
    (m) => !page.hasPreviousPage || m.seq >= first,
  );
  return {
    messages,
    hasOlder: page.hasPreviousPage,
    startCursor: page.startCursor,
    pending: dropStoredPending(previous?.pending ?? [], messages),
    reacting: previous?.reacting ?? {},
  };
}

/** An older page arrived (scrolling up): prepended, duplicates dropped. */
export function olderPageLoaded(state: ConversationState, page: MessagePage): ConversationState {
  return {
    ...state,
    messages: mergeMessages(page.messages, state.messages),
    hasOlder: page.hasPreviousPage,
    startCursor: page.startCursor,
  };
}

/**
 * A stored message arrived (an event, or the answer of send/edit/delete): inserted in
 * `seq` order or replacing its earlier copy, and the optimistic bubble with its
 * `clientMessageId` is dropped. A message older than the loaded run is ignored unless it
 * replaces one we hold.
 */
export function messageStored(state: ConversationState, message: ChatMessage): ConversationState {
  const index = state.messages.findIndex((m) => m.id === message.id);
  let messages: readonly ChatMessage[];
  if (index >= 0) {
    const copy = state.messages.slice();
    copy[index] = message;
    messages = copy;
  } else if (state.hasOlder && state.messages.length > 0 && message.seq < state.messages[0].seq) {
    messages = state.messages;
  } else {
    messages = mergeMessages(state.messages, [message]);
  }
  return { ...state, messages, pending: dropStoredPending(state.pending, [message]) };
}

/** Event kinds whose `message` is the message as it is now, to store. */
const MESSAGE_EVENTS = new Set<LiveEvent["kind"]>([
  "MESSAGE_CREATED",
  "MESSAGE_EDITED",
  "MESSAGE_DELETED",
  "REACTION_ADDED",
  "REACTION_REMOVED",
  "MENTIONED",
]);

/** Applies a live event to a loaded conversation (only message events change it: a new
 *  message, an edit, a deletion, a reaction, a mention). */
export function applyEventToConversation(
  state: ConversationState,
  event: LiveEvent,
): ConversationState {
  if (event.message && MESSAGE_EVENTS.has(event.kind)) {
    // A reaction to a message of a page not loaded changes nothing here.
    const reaction = event.kind === "REACTION_ADDED" || event.kind === "REACTION_REMOVED";
    if (reaction && !state.messages.some((m) => m.id === event.message!.id)) return state;
    return messageStored(state, event.message);
  }
  return state;
}

/** The viewer blocked (or unblocked) `userId`: their messages read `senderBlocked`. */
export function senderBlockChanged(
  state: ConversationState,
  userId: string,
  blocked: boolean,
): ConversationState {
  if (!state.messages.some((m) => m.sender.id === userId && m.senderBlocked !== blocked)) return state;
  return {
    ...state,
    messages: state.messages.map((m) =>
      m.sender.id === userId && m.senderBlocked !== blocked ? { ...m, senderBlocked: blocked } : m,
    ),
  };
}

/** Adds an optimistic bubble ("Sending…"). */
export function pendingAdded(state: ConversationState, pending: PendingMessage): ConversationState {
  if (state.pending.some((p) => p.clientMessageId === pending.clientMessageId)) return state;
  return { ...state, pending: [...state.pending, pending] };
}

/** Changes an optimistic bubble's status (sending again, failed, refused). */
export function pendingStatus(
  state: ConversationState,
  clientMessageId: string,
  status: PendingMessage["status"],
  error: string | null = null,
): ConversationState {
  if (!state.pending.some((p) => p.clientMessageId === clientMessageId)) return state;
  return {
    ...state,
    pending: state.pending.map((p) =>
      p.clientMessageId === clientMessageId ? { ...p, status, error } : p,
    ),
  };
}

/** Removes an optimistic bubble (dismissed after a refusal). */
export function pendingRemoved(state: ConversationState, clientMessageId: string): ConversationState {
  return { ...state, pending: state.pending.filter((p) => p.clientMessageId !== clientMessageId) };
}

/** True while an optimistic bubble with this id is still waiting to be stored. */
export function isPending(state: ConversationState | undefined, clientMessageId: string): boolean {
  return !!state?.pending.some((p) => p.clientMessageId === clientMessageId);
}

/**
 * The read receipt of one of the viewer's messages: "Read" in a direct conversation
 * once the other person read it, "Read by n" in a group; null when nobody has.
 */
export function readReceipt(
  message: ChatMessage,
  session: InboxSession,
  viewerId: string,
): string | null {
  if (message.sender.id !== viewerId || message.deletedAt) return null;
  const readers = session.members.filter(
    (m) => m.user.id !== viewerId && m.readUpTo >= message.seq,
  ).length;
  if (readers === 0) return null;
  return session.kind === "DIRECT" ? "Read" : `Read by ${readers}`;
}
