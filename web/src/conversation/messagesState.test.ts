import { describe, expect, it } from "vitest";
import { event, message, session, user } from "../live/testing";
import {
  applyEventToConversation,
  emptyConversation,
  messageStored,
  needsOlderToFill,
  newestPageLoaded,
  olderPageLoaded,
  pendingAdded,
  pendingStatus,
  readReceipt,
  type PendingMessage,
} from "./messagesState";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => message(from + i));

function pending(id: string, over: Partial<PendingMessage> = {}): PendingMessage {
  return {
    clientMessageId: id,
    body: "hi",
    replyTo: null,
    createdAt: "2025-01-01T12:00:00Z",
    status: "sending",
    error: null,
    ...over,
  };
}

describe("history pages", () => {
  it("keeps live messages that arrived while the newest page loaded", () => {
    const live = messageStored(emptyConversation, message(53));
    const state = newestPageLoaded(live, { messages: range(3, 52), hasPreviousPage: true, startCursor: "s3" });
    expect(state.messages.map((m) => m.seq)).toEqual(range(3, 53).map((m) => m.seq));
    expect(state.hasOlder).toBe(true);
  });

  it("prepends older pages and drops what overlaps", () => {
    const state = newestPageLoaded(undefined, { messages: range(51, 100), hasPreviousPage: true, startCursor: "s51" });
    const older = olderPageLoaded(state, { messages: range(1, 51), hasPreviousPage: false, startCursor: "s1" });
    expect(older.messages).toHaveLength(100);
    expect(older.messages[0].seq).toBe(1);
    expect(new Set(older.messages.map((m) => m.id)).size).toBe(100);
    expect(older.hasOlder).toBe(false);
  });
});

describe("stored messages", () => {
  it("every message once: the event and the mutation answer dedupe by id", () => {
    let state = newestPageLoaded(undefined, { messages: range(1, 3), hasPreviousPage: false, startCursor: null });
    const m4 = message(4);
    state = applyEventToConversation(state, event("MESSAGE_CREATED", "s", { message: m4 }));
    state = messageStored(state, m4);
    state = applyEventToConversation(state, event("MESSAGE_CREATED", "s", { message: m4 }));
    expect(state.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("inserts out-of-order arrivals by seq", () => {
    let state = messageStored(emptyConversation, message(5));
    state = messageStored(state, message(4));
    expect(state.messages.map((m) => m.seq)).toEqual([4, 5]);
  });

  it("edits and deletes replace the message in place", () => {
    let state = newestPageLoaded(undefined, { messages: range(1, 3), hasPreviousPage: false, startCursor: null });
    state = applyEventToConversation(state, event("MESSAGE_EDITED", "s", { message: message(2, { body: "new", editedAt: "2025-01-02T00:00:00Z" }) }));
    state = applyEventToConversation(state, event("MESSAGE_DELETED", "s", { message: message(3, { body: null, deletedAt: "2025-01-02T00:00:00Z" }) }));
    expect(state.messages.map((m) => m.body)).toEqual(["message 1", "new", null]);
  });

  it("ignores a message older than the loaded run (it is in a page not loaded)", () => {
    const state = newestPageLoaded(undefined, { messages: range(51, 100), hasPreviousPage: true, startCursor: "s" });
    expect(messageStored(state, message(10)).messages).toHaveLength(50);
  });
});

describe("optimistic sends", () => {
  it("the stored message replaces the bubble with the same clientMessageId", () => {
    let state = pendingAdded(emptyConversation, pending("cm-1"));
    state = pendingAdded(state, pending("cm-2"));
    state = messageStored(state, message(1, { clientMessageId: "cm-1", sender: user("me", "Me") }));
    expect(state.pending.map((p) => p.clientMessageId)).toEqual(["cm-2"]);
    expect(state.messages.map((m) => m.clientMessageId)).toEqual(["cm-1"]);
  });

  it("a stored copy arriving in a refetched page also clears the bubble", () => {
    const state = pendingAdded(emptyConversation, pending("cm-9"));
    const next = newestPageLoaded(state, {
      messages: [message(1, { clientMessageId: "cm-9" })],
      hasPreviousPage: false,
      startCursor: null,
    });
    expect(next.pending).toEqual([]);
  });

  it("failure and retry change only the status", () => {
    let state = pendingAdded(emptyConversation, pending("cm-1"));
    state = pendingStatus(state, "cm-1", "failed", "Could not reach the server.");
    expect(state.pending[0]).toMatchObject({ status: "failed", error: "Could not reach the server." });
    state = pendingStatus(state, "cm-1", "sending");
    expect(state.pending[0]).toMatchObject({ status: "sending", error: null, clientMessageId: "cm-1" });
  });
});

describe("read receipts", () => {
  const mine = message(5, { sender: user("me", "Me") });

  it("direct: Read once the other person's marker reaches the message", () => {
    const direct = session("s");
    expect(readReceipt(mine, direct, "me")).toBeNull();
    const read = { ...direct, members: direct.members.map((m) => (m.user.id === "bob" ? { ...m, readUpTo: 5 } : m)) };
    expect(readReceipt(mine, read, "me")).toBe("Read");
    expect(readReceipt(message(6, { sender: user("me") }), read, "me")).toBeNull();
  });

  it("group: Read by n, never on others' messages", () => {
    const group = session("g", {
      kind: "GROUP",
      title: "Team",
      members: [
        { role: "OWNER", readUpTo: 5, user: user("me") },
        { role: "MEMBER", readUpTo: 7, user: user("bob") },
        { role: "MEMBER", readUpTo: 5, user: user("carol") },
        { role: "MEMBER", readUpTo: 2, user: user("dave") },
      ],
    });
    expect(readReceipt(mine, group, "me")).toBe("Read by 2");
    expect(readReceipt(message(5), group, "me")).toBeNull();
  });
});

describe("filling a tall screen with older pages", () => {
  const page = (count: number, hasPreviousPage: boolean) =>
    newestPageLoaded(undefined, { messages: range(100 - count + 1, 100), hasPreviousPage, startCursor: "c" });

  it("asks for the previous page while the history does not fill the list", () => {
    expect(needsOlderToFill(page(3, true), { scrollSize: 240, viewportSize: 900 })).toBe(true);
    // Exactly as tall as the viewport: still nothing to scroll.
    expect(needsOlderToFill(page(3, true), { scrollSize: 900, viewportSize: 900 })).toBe(true);
  });

  it("stops once the list scrolls, or when there is no older page", () => {
    expect(needsOlderToFill(page(50, true), { scrollSize: 4_000, viewportSize: 900 })).toBe(false);
    expect(needsOlderToFill(page(3, false), { scrollSize: 240, viewportSize: 900 })).toBe(false);
  });

  it("asks nothing for an empty history or a list with no height", () => {
    expect(needsOlderToFill({ ...emptyConversation, hasOlder: true }, { scrollSize: 0, viewportSize: 900 })).toBe(false);
    expect(needsOlderToFill(page(3, true), { scrollSize: 0, viewportSize: 0 })).toBe(false);
  });

  it("after an older page arrives it asks again only if the list still does not scroll", () => {
    const first = page(3, true);
    const more = olderPageLoaded(first, { messages: range(90, 97), hasPreviousPage: false, startCursor: null });
    expect(needsOlderToFill(more, { scrollSize: 600, viewportSize: 900 })).toBe(false); // no more history
  });
});
