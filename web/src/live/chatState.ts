import {
  applyEventToConversation,
  senderBlockChanged,
  type ConversationState,
} from "../conversation/messagesState";
import {
  applyEventToInbox,
  emptyInbox,
  userBlockChanged,
  type InboxState,
} from "../inbox/inboxState";
import type { LiveEvent } from "./operations";

/** How long a TYPING notice shows. */
export const TYPING_SHOWN_MS = 5_000;

/** Who is typing where: session id → user id → name and until when (ms). */
export type TypingState = Readonly<
  Record<string, Readonly<Record<string, { name: string; until: number }>>>
>;

/** The state of the event socket, for the connection indicator. */
export type ConnectionStatus = "connecting" | "online" | "reconnecting" | "offline";

/** Everything the chat screens show, fed by queries and the event stream. */
export interface ChatState {
  inbox: InboxState;
  /** Loaded conversations by session id. */
  conversations: Readonly<Record<string, ConversationState>>;
  typing: TypingState;
  connection: ConnectionStatus;
}

/** The state after sign-in, before any data. */
export const initialChatState: ChatState = {
  inbox: emptyInbox,
  conversations: {},
  typing: {},
  connection: "connecting",
};

function typingWithout(typing: TypingState, sessionId: string, userId: string): TypingState {
  const here = typing[sessionId];
  if (!here?.[userId]) return typing;
  const rest = { ...here };
  delete rest[userId];
  return { ...typing, [sessionId]: rest };
}

/** Drops typing notices whose time is up. */
export function pruneTyping(typing: TypingState, now: number): TypingState {
  let changed = false;
  const next: Record<string, Record<string, { name: string; until: number }>> = {};
  for (const [sessionId, users] of Object.entries(typing)) {
    const kept: Record<string, { name: string; until: number }> = {};
    for (const [userId, entry] of Object.entries(users)) {
      if (entry.until > now) kept[userId] = entry;
      else changed = true;
    }
    if (Object.keys(kept).length > 0) next[sessionId] = kept;
    else if (Object.keys(users).length > 0) changed = true;
  }
  return changed ? next : typing;
}

/** What applying an event gives: the state, and a conversation to fetch (see inbox). */
export interface ChatEventResult {
  state: ChatState;
  fetchSession: string | null;
}

/**
 * Applies one live event to the whole chat state: the inbox, the loaded conversation it
 * concerns, and typing notices (others' TYPING shows for TYPING_SHOWN_MS; a message from
 * the typist ends it). LAGGED and RESYNC change no state here: the stream and the
 * refetch handle them.
 */
export function applyEvent(
  state: ChatState,
  event: LiveEvent,
  viewerId: string,
  now: number,
): ChatEventResult {
  const sessionId = event.sessionId;
  if (!sessionId) return { state, fetchSession: null };
  if (event.kind === "TYPING") {
    const user = event.user;
    if (!user || user.id === viewerId) return { state, fetchSession: null };
    const entry = { name: user.displayName, until: now + TYPING_SHOWN_MS };
    const typing = { ...state.typing, [sessionId]: { ...state.typing[sessionId], [user.id]: entry } };
    return { state: { ...state, typing }, fetchSession: null };
  }
  const inbox = applyEventToInbox(state.inbox, event, viewerId);
  let conversations = state.conversations;
  const open = conversations[sessionId];
  if (!event.session) {
    if (open) {
      const rest = { ...conversations };
      delete rest[sessionId];
      conversations = rest;
    }
  } else if (open) {
    const next = applyEventToConversation(open, event);
    if (next !== open) conversations = { ...conversations, [sessionId]: next };
  }
  const typing =
    event.kind === "MESSAGE_CREATED" && event.message
      ? typingWithout(state.typing, sessionId, event.message.sender.id)
      : state.typing;
  return {
    state: { ...state, inbox: inbox.state, conversations, typing },
    fetchSession: inbox.fetchSession,
  };
}

/** The typing line of a conversation: "<name> is typing…", or several names. */
export function typingText(typing: TypingState, sessionId: string, now: number): string {
  const names = Object.values(typing[sessionId] ?? {})
    .filter((entry) => entry.until > now)
    .map((entry) => entry.name);
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** The viewer blocked (or unblocked) `userId`: the inbox's members and last messages, and
 *  the loaded conversations' messages, say so. */
export function blockChanged(state: ChatState, userId: string, blocked: boolean): ChatState {
  const inbox = userBlockChanged(state.inbox, userId, blocked);
  let conversations = state.conversations;
  for (const [id, conversation] of Object.entries(state.conversations)) {
    const next = senderBlockChanged(conversation, userId, blocked);
    if (next !== conversation) {
      if (conversations === state.conversations) conversations = { ...conversations };
      (conversations as Record<string, ConversationState>)[id] = next;
    }
  }
  if (inbox === state.inbox && conversations === state.conversations) return state;
  return { ...state, inbox, conversations };
}
