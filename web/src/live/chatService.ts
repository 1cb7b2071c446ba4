import type { Client } from "@urql/core";
import {
  emptyConversation,
  isPending,
  messageStored,
  newestPageLoaded,
  olderPageLoaded,
  pendingAdded,
  pendingRemoved,
  pendingStatus,
  type ConversationState,
  type ReplyQuote,
} from "../conversation/messagesState";
import {
  ConversationQuery,
  DeleteMessageMutation,
  EditMessageMutation,
  MarkReadMutation,
  OlderMessagesQuery,
  SendMessageMutation,
  TypingMutation,
} from "../conversation/operations";
import { DEFAULT_RETRY_DELAYS, deliver, type OutgoingMessage } from "../conversation/sendQueue";
import { inboxPageLoaded, sessionRead, upsertSession } from "../inbox/inboxState";
import { InboxQuery, SessionQuery } from "../inbox/operations";
import { errorMessage } from "../ui/errors";
import { mark } from "../ui/perf";
import {
  applyEvent,
  initialChatState,
  pruneTyping,
  TYPING_SHOWN_MS,
  type ChatState,
} from "./chatState";
import type { CursorStore } from "./cursorStore";
import { EventStream, type EventSource } from "./eventStream";
import type { LiveEvent } from "./operations";
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
  private typingTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: Client,
    private readonly viewerId: string,
    source: EventSource,
    cursor: CursorStore,
  ) {
    this.stream = new EventStream({
      source,
      cursor,
      onEvent: (event) => this.applyLive(event),
      onStatus: (connection) => this.store.update((s) => ({ ...s, connection })),
      onResync: () => void this.reloadAll(),
    });
  }

  /** Starts the event stream and loads the inbox. */
  start(): void {
    this.stream.start();
    window.addEventListener("online", this.online);
    void this.loadInbox(false);
  }

  /** Stops everything (sign-out). */
  stop(): void {
    this.stream.stop();
    window.removeEventListener("online", this.online);
    if (this.typingTimer) clearTimeout(this.typingTimer);
  }

  private online = () => this.stream.reconnectNow();

  private applyLive(event: LiveEvent): void {
    let fetch: string | null = null;
    this.store.update((state) => {
      const result = applyEvent(state, event, this.viewerId, Date.now());
      fetch = result.fetchSession;
      return result.state;
    });
    if (fetch) void this.fetchSession(fetch);
    if (event.kind === "TYPING") this.scheduleTypingPrune();
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
    try {
      const result = await this.client
        .query(InboxQuery, { first: INBOX_PAGE, after }, NETWORK_ONLY)
        .toPromise();
      const data = result.data?.sessions;
      if (!data) return errorMessage(result.error);
      if (!append) mark("inbox-data", true);
      const nodes = data.edges.map((e) => e.node);
      this.store.update((s) => ({
        ...s,
        inbox: inboxPageLoaded(s.inbox, nodes, data.pageInfo, append),
      }));
      return null;
    } finally {
      this.loading.delete(key);
    }
  }

  /** Fetches one conversation's inbox entry (it appeared through an event). */
  async fetchSession(id: string): Promise<void> {
    const result = await this.client.query(SessionQuery, { id }, NETWORK_ONLY).toPromise();
    const session = result.data?.session;
    if (session) this.store.update((s) => ({ ...s, inbox: upsertSession(s.inbox, session) }));
  }

  /** Loads a conversation's newest page unless it is loaded (or `force`). Returns an
   *  error sentence, or null. */
  async openConversation(id: string, force = false): Promise<string | null> {
    if (!force && this.store.get().conversations[id]) return null;
    const key = `open:${id}`;
    if (this.loading.has(key)) return null;
    this.loading.add(key);
    try {
      const result = await this.client
        .query(ConversationQuery, { id, last: MESSAGE_PAGE }, NETWORK_ONLY)
        .toPromise();
      const session = result.data?.session;
      if (!session) return errorMessage(result.error);
      mark("conversation-data");
      const { messages, ...entry } = session;
      this.store.update((s) => ({
        ...s,
        inbox: upsertSession(s.inbox, entry),
        conversations: {
          ...s.conversations,
          [id]: newestPageLoaded(s.conversations[id], {
            messages: messages.nodes,
            hasPreviousPage: messages.pageInfo.hasPreviousPage,
            startCursor: messages.pageInfo.startCursor ?? null,
          }),
        },
      }));
      return null;
    } finally {
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
      const result = await this.client
        .query(OlderMessagesQuery, { id, last: MESSAGE_PAGE, before }, NETWORK_ONLY)
        .toPromise();
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

  private updateConversation(id: string, change: (c: ConversationState) => ConversationState) {
    this.store.update((s) => {
      const current = s.conversations[id] ?? emptyConversation;
      const next = change(current);
      return next === current ? s : { ...s, conversations: { ...s.conversations, [id]: next } };
    });
  }

  /** Sends a message with an optimistic bubble; see `deliver` for the retries. */
  send(sessionId: string, body: string, replyTo: ReplyQuote | null): void {
    const clientMessageId = crypto.randomUUID();
    this.updateConversation(sessionId, (c) =>
      pendingAdded(c, {
        clientMessageId,
        body,
        replyTo,
        createdAt: new Date().toISOString(),
        status: "sending",
        error: null,
      }),
    );
    void this.deliver({ sessionId, clientMessageId, body, replyToId: replyTo?.id ?? null });
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
    if (!session || (session.viewerReadUpTo >= upTo && session.unreadCount === 0)) return;
    if ((this.readRequested.get(sessionId) ?? 0) >= upTo) return;
    this.readRequested.set(sessionId, upTo);
    const result = await this.client.mutation(MarkReadMutation, { sessionId, upTo }).toPromise();
    const read = result.data?.markRead;
    if (read) {
      this.store.update((s) => ({
        ...s,
        inbox: sessionRead(s.inbox, sessionId, read.viewerReadUpTo, read.unreadCount),
      }));
    } else {
      this.readRequested.delete(sessionId);
    }
  }

  /** Tells the others the viewer is typing, at most every TYPING_INTERVAL_MS. */
  typing(sessionId: string): void {
    const now = Date.now();
    if (now - (this.lastTyping.get(sessionId) ?? 0) < TYPING_INTERVAL_MS) return;
    this.lastTyping.set(sessionId, now);
    void this.client.mutation(TypingMutation, { sessionId }).toPromise();
  }
}
