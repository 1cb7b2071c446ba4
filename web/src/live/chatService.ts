import type { AnyVariables, Client, DocumentInput, OperationResult } from "@urql/core";
import {
  isPending,
  messageStored,
  newestPageLoaded,
  olderPageLoaded,
  pendingAdded,
  pendingRemoved,
  pendingStatus,
  type ConversationState,
  type PendingAttachment,
  type ReplyQuote,
} from "../conversation/messagesState";
import {
  AddReactionMutation,
  BlockUserMutation,
  ConversationQuery,
  DeleteMessageMutation,
  EditMessageMutation,
  MarkReadMutation,
  MuteSessionMutation,
  OlderMessagesQuery,
  RemoveReactionMutation,
  SendMessageMutation,
  TypingMutation,
  UnblockUserMutation,
  UnmuteSessionMutation,
} from "../conversation/operations";
import {
  emojiKey,
  reactionAnswered,
  reactionFailed,
  reactionWanted,
  reactionWish,
  shownMessage,
  viewerReacted,
} from "../conversation/reactions";
import { DEFAULT_RETRY_DELAYS, deliver, type OutgoingMessage } from "../conversation/sendQueue";
import {
  inboxPageLoaded,
  removeSession,
  sessionFetched,
  sessionMuted,
  sessionRead,
  shouldMarkRead,
} from "../inbox/inboxState";
import { muteUntil, type MuteChoice } from "../inbox/mute";
import { InboxQuery, SessionQuery } from "../inbox/operations";
import { errorCode, errorMessage } from "../ui/errors";
import { mark } from "../ui/perf";
import {
  applyEvent,
  blockChanged,
  initialChatState,
  pruneTyping,
  TYPING_SHOWN_MS,
  type ChatState,
} from "./chatState";
import type { CursorStore } from "./cursorStore";
import { EventStream, type EventSource } from "./eventStream";
import { EventsCursorQuery, type LiveEvent } from "./operations";
import { Store } from "./store";

/** Conversations per inbox page (the API's maximum). */
export const INBOX_PAGE = 50;
/** Messages per history page. */
export const MESSAGE_PAGE = 50;
/** Least time between two `typing` notices. */
export const TYPING_INTERVAL_MS = 3_000;

const NETWORK_ONLY = { requestPolicy: "network-only" } as const;

/**
 * The chat of the signed-in viewer: one store fed by queries and the event stream, and
 * the actions the screens call (open, page, send, edit, delete, read, typing). The pure
 * state changes live in inboxState, messagesState and chatState.
 */
export class ChatService {
  readonly store = new Store<ChatState>(initialChatState);
  private readonly stream: EventStream;
  private readonly loading = new Set<string>();
  private readonly lastTyping = new Map<string, number>();
  private readonly readRequested = new Map<string, number>();
  /** Events that arrived while a query was on its way, by loading key ("inbox",
   *  "open:<id>"): applied again over the answer, which may predate them. */
  private readonly replays = new Map<string, LiveEvent[]>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  /** Events carrying each message so far (by id): a reaction's answer tells whether one
   *  came while it was on its way. */
  private readonly messageEvents = new Map<string, number>();
  /** Reaction toggles being sent, by "<message id> <emoji>": one request at a time each. */
  private readonly reacting = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly viewerId: string,
    source: EventSource,
    cursor: CursorStore,
  ) {
    this.stream = new EventStream({
      source,
      head: async () => {
        const result = await this.client.query(EventsCursorQuery, {}, NETWORK_ONLY).toPromise();
        if (!result.data) throw result.error ?? new Error("no events cursor");
        return result.data.eventsCursor;
      },
      cursor,
      onEvent: (event) => this.applyLive(event),
      onStatus: (connection) => this.store.update((s) => ({ ...s, connection })),
      onResync: () => void this.reloadAll(),
    });
  }

  /** Starts the event stream and loads the inbox. */
  start(): void {
    this.stream.start();
    if (typeof window !== "undefined") window.addEventListener("online", this.online);
    void this.loadInbox(false);
  }

  /** Stops everything (sign-out). */
  stop(): void {
    this.stream.stop();
    if (typeof window !== "undefined") window.removeEventListener("online", this.online);
    if (this.typingTimer) clearTimeout(this.typingTimer);
  }

  private online = () => this.stream.reconnectNow();

  /** A query that loads state, sent once the event stream has a cursor: every event after
   *  its answer then reaches the store. */
  private async load<Data, Variables extends AnyVariables>(
    query: DocumentInput<Data, Variables>,
    variables: Variables,
  ): Promise<OperationResult<Data, Variables>> {
    await this.stream.ready();
    return this.client.query(query, variables, NETWORK_ONLY).toPromise();
  }

  private applyLive(event: LiveEvent): void {
    if (event.kind !== "TYPING") {
      this.replays.get("inbox")?.push(event);
      if (event.sessionId) this.replays.get(`open:${event.sessionId}`)?.push(event);
    }
    this.apply(event);
  }

  private apply(event: LiveEvent): void {
    if (event.message) {
      this.messageEvents.set(event.message.id, (this.messageEvents.get(event.message.id) ?? 0) + 1);
    }
    let fetch: string | null = null;
    this.store.update((state) => {
      const result = applyEvent(state, event, this.viewerId, Date.now());
      fetch = result.fetchSession;
      return result.state;
    });
    if (fetch) void this.fetchSession(fetch);
    if (event.kind === "TYPING") this.scheduleTypingPrune();
  }

  /** Starts recording the events that arrive while the query `key` is on its way. */
  private recordWhileLoading(key: string): void {
    this.replays.set(key, []);
  }

  /** Applies again the events recorded during the query `key` (they may be newer than its
   *  answer: every event states where things stand, so applying one twice is harmless). */
  private replayAfterLoading(key: string): void {
    const events = this.replays.get(key) ?? [];
    this.replays.delete(key);
    for (const event of events) this.apply(event);
  }

  private scheduleTypingPrune(): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      this.typingTimer = null;
      this.store.update((s) => {
        const typing = pruneTyping(s.typing, Date.now());
        return typing === s.typing ? s : { ...s, typing };
      });
      if (Object.keys(this.store.get().typing).length > 0) this.scheduleTypingPrune();
    }, TYPING_SHOWN_MS + 50);
  }

  /** Loads the first inbox page (replacing it) or, with `append`, the next one. Returns
   *  an error sentence, or null. */
  async loadInbox(append: boolean): Promise<string | null> {
    const key = "inbox";
    if (this.loading.has(key)) return null;
    const after = append ? this.store.get().inbox.endCursor : null;
    if (append && !after) return null;
    this.loading.add(key);
    this.recordWhileLoading(key);
    try {
      const result = await this.load(InboxQuery, { first: INBOX_PAGE, after });
      const data = result.data?.sessions;
      if (!data) return errorMessage(result.error);
      if (!append) mark("inbox-data", true);
      const nodes = data.edges.map((e) => e.node);
      this.store.update((s) => ({
        ...s,
        inbox: inboxPageLoaded(s.inbox, nodes, data.pageInfo, append),
      }));
      this.replayAfterLoading(key);
      return null;
    } finally {
      this.replays.delete(key);
      this.loading.delete(key);
    }
  }

  /** Fetches one conversation's inbox entry (it appeared through an event). */
  async fetchSession(id: string): Promise<void> {
    const result = await this.load(SessionQuery, { id });
    const session = result.data?.session;
    if (session) this.store.update((s) => ({ ...s, inbox: sessionFetched(s.inbox, session) }));
    else if (errorCode(result.error) === "NOT_FOUND") this.forget(id);
  }

  /** Drops a conversation the viewer is no longer in. */
  private forget(id: string): void {
    this.store.update((s) => {
      if (!s.inbox.sessions[id] && !s.conversations[id]) return s;
      const conversations = { ...s.conversations };
      delete conversations[id];
      return { ...s, inbox: removeSession(s.inbox, id), conversations };
    });
  }

  /** Loads a conversation's newest page unless it is loaded (or `force`). Returns an
   *  error sentence, or null. */
  async openConversation(id: string, force = false): Promise<string | null> {
    if (!force && this.store.get().conversations[id]) return null;
    const key = `open:${id}`;
    if (this.loading.has(key)) return null;
    this.loading.add(key);
    this.recordWhileLoading(key);
    try {
      const result = await this.load(ConversationQuery, { id, last: MESSAGE_PAGE });
      const session = result.data?.session;
      if (!session) {
        if (errorCode(result.error) === "NOT_FOUND") this.forget(id);
        return errorMessage(result.error);
      }
      mark("conversation-data");
      const { messages, ...entry } = session;
      this.store.update((s) => ({
        ...s,
        inbox: sessionFetched(s.inbox, entry),
        conversations: {
          ...s.conversations,
          [id]: newestPageLoaded(s.conversations[id], {
            messages: messages.nodes,
            hasPreviousPage: messages.pageInfo.hasPreviousPage,
            startCursor: messages.pageInfo.startCursor ?? null,
          }),
        },
      }));
      this.replayAfterLoading(key);
      return null;
    } finally {
      this.replays.delete(key);
      this.loading.delete(key);
    }
  }

  /** Loads the page before the oldest loaded message. */
  async loadOlder(id: string): Promise<string | null> {
    const conversation = this.store.get().conversations[id];
    const before = conversation?.startCursor;
    const key = `older:${id}`;
    if (!conversation?.hasOlder || !before || this.loading.has(key)) return null;
    this.loading.add(key);
    try {
      const result = await this.load(OlderMessagesQuery, { id, last: MESSAGE_PAGE, before });
      const page = result.data?.session.messages;
      if (!page) return errorMessage(result.error);
      this.updateConversation(id, (c) =>
        olderPageLoaded(c, {
          messages: page.nodes,
          hasPreviousPage: page.pageInfo.hasPreviousPage,
          startCursor: page.pageInfo.startCursor ?? null,
        }),
      );
      return null;
    } finally {
      this.loading.delete(key);
    }
  }

  private async reloadAll(): Promise<void> {
    const open = Object.keys(this.store.get().conversations);
    await Promise.all([this.loadInbox(false), ...open.map((id) => this.openConversation(id, true))]);
  }

  /** Changes a loaded conversation; one that is not (any more: the viewer left or was
   *  removed while a send or an edit was on its way) stays away. */
  private updateConversation(id: string, change: (c: ConversationState) => ConversationState) {
    this.store.update((s) => {
      const current = s.conversations[id];
      if (!current) return s;
      const next = change(current);
      return next === current ? s : { ...s, conversations: { ...s.conversations, [id]: next } };
    });
  }

  /** Sends a message with an optimistic bubble; see `deliver` for the retries.
   *  `mentionIds`: members picked from the composer's mention menu; `attachments`: files
   *  already uploaded. */
  send(
    sessionId: string,
    body: string,
    replyTo: ReplyQuote | null,
    mentionIds: readonly string[] = [],
    attachments: readonly PendingAttachment[] = [],
  ): void {
    const clientMessageId = crypto.randomUUID();
    this.updateConversation(sessionId, (c) =>
      pendingAdded(c, {
        clientMessageId,
        body,
        replyTo,
        mentionIds,
        attachments,
        createdAt: new Date().toISOString(),
        status: "sending",
        error: null,
      }),
    );
    void this.deliver({
      sessionId,
      clientMessageId,
      body,
      replyToId: replyTo?.id ?? null,
      mentionIds,
      attachmentIds: attachments.map((a) => a.id),
    });
  }

  /** Sends a "Not sent" message again, with its first `clientMessageId`. */
  retry(sessionId: string, clientMessageId: string): void {
    const pending = this.store
      .get()
      .conversations[sessionId]?.pending.find((p) => p.clientMessageId === clientMessageId);
    if (!pending) return;
    void this.deliver({
      sessionId,
      clientMessageId,
      body: pending.body,
      replyToId: pending.replyTo?.id ?? null,
      mentionIds: pending.mentionIds,
      attachmentIds: pending.attachments?.map((a) => a.id),
    });
  }

  /** Drops a refused message's bubble. */
  dismiss(sessionId: string, clientMessageId: string): void {
    this.updateConversation(sessionId, (c) => pendingRemoved(c, clientMessageId));
  }

  private deliver(message: OutgoingMessage): Promise<void> {
    return deliver(
      {
        send: async (m) => {
          const result = await this.client
            .mutation(SendMessageMutation, {
              input: {
                sessionId: m.sessionId,
                body: m.body,
                clientMessageId: m.clientMessageId,
                replyToId: m.replyToId,
                mentionIds: m.mentionIds && m.mentionIds.length > 0 ? [...m.mentionIds] : null,
                attachmentIds: m.attachmentIds && m.attachmentIds.length > 0 ? [...m.attachmentIds] : null,
              },
            })
            .toPromise();
          return result.data ? { message: result.data.sendMessage } : { error: result.error };
        },
        stored: (sessionId, stored) => this.updateConversation(sessionId, (c) => messageStored(c, stored)),
        status: (sessionId, id, status, error) =>
          this.updateConversation(sessionId, (c) => pendingStatus(c, id, status, error)),
        stillPending: (sessionId, id) => isPending(this.store.get().conversations[sessionId], id),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        retryDelays: DEFAULT_RETRY_DELAYS,
      },
      message,
    );
  }

  /** Replaces a message's text. Returns an error sentence, or null. */
  async edit(sessionId: string, id: string, body: string): Promise<string | null> {
    const result = await this.client.mutation(EditMessageMutation, { id, body }).toPromise();
    const message = result.data?.editMessage;
    if (!message) return errorMessage(result.error);
    this.updateConversation(sessionId, (c) => messageStored(c, message));
    return null;
  }

  /** Deletes a message. Returns an error sentence, or null. */
  async remove(sessionId: string, id: string): Promise<string | null> {
    const result = await this.client.mutation(DeleteMessageMutation, { id }).toPromise();
    const message = result.data?.deleteMessage;
    if (!message) return errorMessage(result.error);
    this.updateConversation(sessionId, (c) => messageStored(c, message));
    return null;
  }

  /** Moves the viewer's read marker to `upTo` when it is ahead of what is stored. */
  async markRead(sessionId: string, upTo: number): Promise<void> {
    const session = this.store.get().inbox.sessions[sessionId];
    if (!shouldMarkRead(session, upTo, this.readRequested.get(sessionId) ?? 0)) return;
    this.readRequested.set(sessionId, upTo);
    const result = await this.client.mutation(MarkReadMutation, { sessionId, upTo }).toPromise();
    const read = result.data?.markRead;
    if (read) {
      this.store.update((s) => ({
        ...s,
        inbox: sessionRead(
          s.inbox,
          sessionId,
          read.viewerReadUpTo,
          read.unreadCount,
          read.unreadMentionCount,
        ),
      }));
    } else if (this.readRequested.get(sessionId) === upTo) {
      this.readRequested.delete(sessionId);
    }
  }

  /**
   * Toggles the viewer's `emoji` reaction on a loaded message: shown at once, then sent
   * (one request at a time per message and emoji: toggles made meanwhile are sent after,
   * the last one winning). Returns an error sentence when the server refused, else null.
   */
  async toggleReaction(sessionId: string, messageId: string, emoji: string): Promise<string | null> {
    const conversation = this.store.get().conversations[sessionId];
    const message = conversation?.messages.find((m) => m.id === messageId);
    if (!conversation || !message) return null;
    const shown = shownMessage(message, conversation.reacting);
    const reacted = !viewerReacted(shown.reactions, emoji);
    this.updateConversation(sessionId, (c) => reactionWanted(c, messageId, emoji, reacted));
    return this.sendReaction(sessionId, messageId, emoji);
  }

  private async sendReaction(sessionId: string, messageId: string, emoji: string): Promise<string | null> {
    const key = `${messageId} ${emojiKey(emoji)}`;
    if (this.reacting.has(key)) return null;
    this.reacting.add(key);
    try {
      for (;;) {
        const wish = reactionWish(this.store.get().conversations[sessionId], messageId, emoji);
        if (!wish) return null;
        const before = this.messageEvents.get(messageId) ?? 0;
        const variables = { messageId, emoji: wish.emoji };
        const result = wish.reacted
          ? await this.client.mutation(AddReactionMutation, variables).toPromise()
          : await this.client.mutation(RemoveReactionMutation, variables).toPromise();
        const data = result.data;
        const answer = data && ("addReaction" in data ? data.addReaction : data.removeReaction);
        if (!answer) {
          this.updateConversation(sessionId, (c) => reactionFailed(c, messageId, emoji));
          return errorMessage(result.error);
        }
        const eventsSince = (this.messageEvents.get(messageId) ?? 0) !== before;
        this.updateConversation(sessionId, (c) =>
          reactionAnswered(c, answer, wish.emoji, wish.reacted, eventsSince),
        );
        // Toggled again while this one was on its way: send the latest wish.
        const next = reactionWish(this.store.get().conversations[sessionId], messageId, emoji);
        if (!next || next.reacted === wish.reacted) {
          if (next) this.updateConversation(sessionId, (c) => reactionFailed(c, messageId, emoji));
          return null;
        }
      }
    } finally {
      this.reacting.delete(key);
    }
  }

  /** Mutes a conversation for a while or for good. Returns an error sentence, or null. */
  async mute(sessionId: string, choice: MuteChoice): Promise<string | null> {
    const until = muteUntil(choice, Date.now());
    const result = await this.client.mutation(MuteSessionMutation, { sessionId, until }).toPromise();
    const session = result.data?.muteSession;
    if (!session) return errorMessage(result.error);
    this.store.update((s) => ({ ...s, inbox: sessionMuted(s.inbox, session.id, session.mutedUntil ?? null) }));
    return null;
  }

  /** Unmutes a conversation. Returns an error sentence, or null. */
  async unmute(sessionId: string): Promise<string | null> {
    const result = await this.client.mutation(UnmuteSessionMutation, { sessionId }).toPromise();
    const session = result.data?.unmuteSession;
    if (!session) return errorMessage(result.error);
    this.store.update((s) => ({ ...s, inbox: sessionMuted(s.inbox, session.id, session.mutedUntil ?? null) }));
    return null;
  }

  /** Blocks or unblocks a user; the conversations say so at once. Returns an error
   *  sentence, or null. */
  async setBlocked(userId: string, blocked: boolean): Promise<string | null> {
    const result = blocked
      ? await this.client.mutation(BlockUserMutation, { userId }).toPromise()
      : await this.client.mutation(UnblockUserMutation, { userId }).toPromise();
    const data = result.data;
    const user = data && ("blockUser" in data ? data.blockUser : data.unblockUser);
    if (!user) return errorMessage(result.error);
    this.store.update((s) => blockChanged(s, user.id, user.blockedByViewer));
    return null;
  }

  /** Tells the others the viewer is typing, at most every TYPING_INTERVAL_MS. */
  typing(sessionId: string): void {
    const now = Date.now();
    if (now - (this.lastTyping.get(sessionId) ?? 0) < TYPING_INTERVAL_MS) return;
    this.lastTyping.set(sessionId, now);
    void this.client.mutation(TypingMutation, { sessionId }).toPromise();
  }
}
