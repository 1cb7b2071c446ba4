import type { Client } from "@urql/core";
import { describe, expect, it } from "vitest";
import { ChatService } from "./chatService";
import { memoryCursor } from "./cursorStore";
import type { SourceHandlers } from "./eventStream";
import type { LiveEvent } from "./operations";
import { shownMessage } from "../conversation/reactions";
import { event, message, session, user } from "./testing";

/** An urql client whose every operation waits until the test answers it. */
function fakeClient() {
  const calls: { name: string; variables: Record<string, unknown>; answer(result: unknown): void }[] = [];
  const operation = (document: { definitions: { name?: { value: string } }[] }, variables: Record<string, unknown>) => ({
    toPromise: () =>
      new Promise((resolve) => {
        calls.push({ name: document.definitions[0].name?.value ?? "", variables, answer: resolve });
      }),
  });
  const client = { query: operation, mutation: operation } as unknown as Client;
  /** The oldest unanswered call named `name`. */
  const take = (name: string) => {
    const index = calls.findIndex((c) => c.name === name);
    if (index < 0) throw new Error(`no ${name} call (calls: ${calls.map((c) => c.name).join(", ")})`);
    return calls.splice(index, 1)[0];
  };
  return { client, calls, take };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A started service whose event stream has no saved cursor, as in a new tab. `head`: the
 *  test answers the stream's head read itself. */
async function setup({ head = "c-head" as string | null } = {}) {
  const fake = fakeClient();
  let handlers: SourceHandlers | null = null;
  const subscribedFrom: (string | null)[] = [];
  const service = new ChatService(fake.client, "me", (after, h) => {
    subscribedFrom.push(after);
    handlers = h;
    return () => undefined;
  }, memoryCursor());
  service.start();
  await settle();
  if (head !== null) {
    fake.take("EventsCursor").answer({ data: { eventsCursor: head } });
    await settle();
  }
  const live = (e: LiveEvent) => handlers!.next({ data: { events: e } });
  // Loads wait for the stream's cursor, a tick: `settle` first lets them out.
  const answerInbox = async (sessions: ReturnType<typeof session>[]) => {
    await settle();
    fake.take("Inbox").answer({
      data: { sessions: { edges: sessions.map((node) => ({ node })), pageInfo: { hasNextPage: false, endCursor: null } } },
    });
    await settle();
  };
  const answerConversation = async (id: string, messages: ReturnType<typeof message>[], over = {}) => {
    await settle();
    fake.take("Conversation").answer({
      data: {
        session: {
          ...session(id, over),
          messages: { nodes: messages, pageInfo: { hasPreviousPage: false, startCursor: null } },
        },
      },
    });
    await settle();
  };
  return { fake, service, live, answerInbox, answerConversation, subscribedFrom, state: () => service.store.get() };
}

const seqs = (n: number) => Array.from({ length: n }, (_, i) => message(i + 1));

describe("ChatService", () => {
  it("in a new tab, nothing is loaded before the event stream has a cursor to start from", async () => {
    const t = await setup({ head: null });
    // Only the head read is out: an inbox answered before the stream's start would miss
    // whatever happened between the two.
    expect(t.fake.calls.map((c) => c.name)).toEqual(["EventsCursor"]);
    const opening = t.service.openConversation("s");
    await settle();
    expect(t.fake.calls.map((c) => c.name)).toEqual(["EventsCursor"]);
    expect(t.subscribedFrom).toEqual([]);
    t.fake.take("EventsCursor").answer({ data: { eventsCursor: "c-now" } });
    await settle();
    expect(t.subscribedFrom).toEqual(["c-now"]);
    expect(t.fake.calls.map((c) => c.name).sort()).toEqual(["Conversation", "Inbox"]);
    await t.answerInbox([session("s")]);
    await t.answerConversation("s", seqs(2));
    await opening;
    expect(t.state().conversations.s.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it("a message that arrives while the conversation's first page is on its way is kept", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    const opening = t.service.openConversation("s");
    // The server answered the query before message 4 existed; its event overtakes the answer.
    t.live(event("MESSAGE_CREATED", "s", { message: message(4) }, { unreadCount: 1 }));
    await t.answerConversation("s", seqs(3));
    await opening;
    expect(t.state().conversations.s.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(t.state().inbox.sessions.s.lastMessage?.seq).toBe(4);
    expect(t.state().inbox.sessions.s.unreadCount).toBe(1);
  });

  it("events during the first inbox load are applied over its answer", async () => {
    const t = await setup();
    t.live(event("MESSAGE_CREATED", "a", { message: message(5) }, { unreadCount: 1 }));
    await t.answerInbox([session("a")]);
    expect(t.state().inbox.sessions.a.unreadCount).toBe(1);
    expect(t.state().inbox.sessions.a.lastMessage?.seq).toBe(5);
  });

  it("a conversation created during the first inbox load is fetched", async () => {
    const t = await setup();
    t.live(event("SESSION_CREATED", "n"));
    await t.answerInbox([session("a")]);
    const fetch = t.fake.take("SessionById");
    expect(fetch.variables.id).toBe("n");
    fetch.answer({ data: { session: session("n") } });
    await settle();
    expect(t.state().inbox.order).toContain("n");
  });

  it("removed from a conversation while a send is on its way: it does not come back", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    void t.service.openConversation("s");
    await t.answerConversation("s", seqs(2));
    t.service.send("s", "hello", null);
    const send = t.fake.take("SendMessage");
    t.live({ ...event("MEMBER_REMOVED", "s", { user: user("me") }), session: null });
    expect(t.state().conversations.s).toBeUndefined();
    send.answer({ data: { sendMessage: message(3, { sender: user("me"), clientMessageId: "x" }) } });
    await settle();
    expect(t.state().conversations.s).toBeUndefined();
    expect(t.state().inbox.sessions.s).toBeUndefined();
  });

  it("a message stored both by the send's answer and by its event shows once", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    void t.service.openConversation("s");
    await t.answerConversation("s", seqs(2));
    t.service.send("s", "hello", null);
    const send = t.fake.take("SendMessage");
    const input = send.variables.input as { clientMessageId: string };
    const stored = message(3, { sender: user("me"), body: "hello", clientMessageId: input.clientMessageId });
    t.live(event("MESSAGE_CREATED", "s", { message: stored }));
    send.answer({ data: { sendMessage: stored } });
    await settle();
    const conversation = t.state().conversations.s;
    expect(conversation.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(conversation.pending).toEqual([]);
  });

  it("a conversation the server no longer shows the viewer leaves the inbox", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    const opening = t.service.openConversation("s");
    await settle();
    t.fake.take("Conversation").answer({
      error: { graphQLErrors: [{ message: "not found", extensions: { code: "NOT_FOUND" } }] },
    });
    expect(await opening).toMatch(/not found/);
    expect(t.state().inbox.sessions.s).toBeUndefined();
  });

  it("\"Load more\" answering with an older copy of a conversation keeps the live one", async () => {
    const t = await setup();
    await settle();
    t.fake.take("Inbox").answer({
      data: { sessions: { edges: [{ node: session("a", { lastActivityAt: "2025-01-01T11:00:00Z" }) }], pageInfo: { hasNextPage: true, endCursor: "e1" } } },
    });
    await settle();
    // A message in "c" (on page 2, not loaded yet): the inbox fetches "c"…
    t.live(event("MESSAGE_CREATED", "c", { message: message(7) }, { lastActivityAt: "2025-01-01T12:00:00Z", unreadCount: 1 }));
    await settle();
    const fetch = t.fake.take("SessionById");
    // …while "Load more conversations" is on its way, read before that message.
    const loading = t.service.loadInbox(true);
    fetch.answer({ data: { session: session("c", { lastActivityAt: "2025-01-01T12:00:00Z", unreadCount: 1, lastMessage: message(7) }) } });
    await settle();
    t.fake.take("Inbox").answer({
      data: { sessions: { edges: [{ node: session("c", { lastActivityAt: "2025-01-01T09:00:00Z", lastMessage: message(6) }) }], pageInfo: { hasNextPage: false, endCursor: null } } },
    });
    await loading;
    const c = t.state().inbox.sessions.c;
    expect(c.lastMessage?.seq).toBe(7);
    expect(c.unreadCount).toBe(1);
    expect(t.state().inbox.order).toEqual(["c", "a"]);
  });

  it("a reaction shows at once, then as the server answers; an event meanwhile does not undo it", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    void t.service.openConversation("s");
    await t.answerConversation("s", [message(1, { reactions: [{ emoji: "👍", count: 1, reactedByViewer: false }] })]);
    const shown = () => {
      const c = t.state().conversations.s;
      return shownMessage(c.messages[0], c.reacting).reactions;
    };
    const toggling = t.service.toggleReaction("s", "m1", "👍");
    expect(shown()).toEqual([{ emoji: "👍", count: 2, reactedByViewer: true }]);
    const add = t.fake.take("AddReaction");
    expect(add.variables).toEqual({ messageId: "m1", emoji: "👍" });
    // Someone else reacts with 🎉 while the request is on its way (read before it was stored).
    t.live(event("REACTION_ADDED", "s", {
      emoji: "🎉",
      message: message(1, { reactions: [{ emoji: "👍", count: 1, reactedByViewer: false }, { emoji: "🎉", count: 1, reactedByViewer: false }] }),
    }));
    expect(shown()).toEqual([
      { emoji: "👍", count: 2, reactedByViewer: true },
      { emoji: "🎉", count: 1, reactedByViewer: false },
    ]);
    add.answer({ data: { addReaction: message(1, { reactions: [{ emoji: "👍", count: 2, reactedByViewer: true }] }) } });
    expect(await toggling).toBeNull();
    expect(t.state().conversations.s.reacting).toEqual({});
    expect(shown()).toEqual([
      { emoji: "👍", count: 2, reactedByViewer: true },
      { emoji: "🎉", count: 1, reactedByViewer: false },
    ]);
  });

  it("toggling again while a reaction is on its way sends the last wish after it", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    void t.service.openConversation("s");
    await t.answerConversation("s", [message(1)]);
    const first = t.service.toggleReaction("s", "m1", "🎉");
    const second = t.service.toggleReaction("s", "m1", "🎉");
    expect(await second).toBeNull();
    t.fake.take("AddReaction").answer({ data: { addReaction: message(1, { reactions: [{ emoji: "🎉", count: 1, reactedByViewer: true }] }) } });
    await settle();
    const remove = t.fake.take("RemoveReaction");
    expect(remove.variables).toEqual({ messageId: "m1", emoji: "🎉" });
    remove.answer({ data: { removeReaction: message(1, { reactions: [] }) } });
    expect(await first).toBeNull();
    expect(t.state().conversations.s.messages[0].reactions).toEqual([]);
    expect(t.state().conversations.s.reacting).toEqual({});
  });

  it("a refused reaction goes away and says why", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    void t.service.openConversation("s");
    await t.answerConversation("s", [message(1)]);
    const toggling = t.service.toggleReaction("s", "m1", "🎉");
    t.fake.take("AddReaction").answer({
      error: { graphQLErrors: [{ message: "a message carries at most 20 different emoji", extensions: { code: "BAD_USER_INPUT" } }] },
    });
    expect(await toggling).toBe("A message carries at most 20 different emoji.");
    const c = t.state().conversations.s;
    expect(shownMessage(c.messages[0], c.reacting).reactions).toEqual([]);
  });

  it("sends the mention ids picked, mutes, and marks a blocked sender's messages", async () => {
    const t = await setup();
    await t.answerInbox([session("s")]);
    void t.service.openConversation("s");
    await t.answerConversation("s", [message(1)]);
    t.service.send("s", "@bob hi", null, ["bob"]);
    const send = t.fake.take("SendMessage");
    expect((send.variables.input as { mentionIds: string[] }).mentionIds).toEqual(["bob"]);

    const muting = t.service.mute("s", "forever");
    const mute = t.fake.take("MuteSession");
    expect(mute.variables).toEqual({ sessionId: "s", until: null });
    mute.answer({ data: { muteSession: { id: "s", mutedUntil: "9999-12-31T23:59:59Z" } } });
    expect(await muting).toBeNull();
    expect(t.state().inbox.sessions.s.mutedUntil).toBe("9999-12-31T23:59:59Z");

    const blocking = t.service.setBlocked("bob", true);
    t.fake.take("BlockUser").answer({ data: { blockUser: { id: "bob", blockedByViewer: true } } });
    expect(await blocking).toBeNull();
    expect(t.state().conversations.s.messages[0].senderBlocked).toBe(true);
  });
});
