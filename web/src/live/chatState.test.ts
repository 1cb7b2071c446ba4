import { describe, expect, it } from "vitest";
import { newestPageLoaded } from "../conversation/messagesState";
import { inboxPageLoaded } from "../inbox/inboxState";
import { applyEvent, blockChanged, initialChatState, pruneTyping, typingText, type ChatState } from "./chatState";
import { event, message, session, user } from "./testing";

function state(): ChatState {
  return {
    ...initialChatState,
    inbox: inboxPageLoaded(initialChatState.inbox, [session("s")], { hasNextPage: false }, false),
    conversations: {
      s: newestPageLoaded(undefined, { messages: [message(1)], hasPreviousPage: false, startCursor: null }),
    },
  };
}

describe("applyEvent", () => {
  it("a message reaches both the inbox and the open conversation", () => {
    const { state: next } = applyEvent(state(), event("MESSAGE_CREATED", "s", { message: message(2) }, { unreadCount: 1 }), "me", 0);
    expect(next.conversations.s.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(next.inbox.sessions.s.lastMessage?.seq).toBe(2);
    expect(next.inbox.sessions.s.unreadCount).toBe(1);
  });

  it("shows others typing for five seconds; a message from them ends it", () => {
    let next = applyEvent(state(), event("TYPING", "s", { user: user("bob", "Bob") }), "me", 1_000).state;
    expect(typingText(next.typing, "s", 1_000)).toBe("Bob is typing…");
    expect(typingText(next.typing, "s", 6_001)).toBe("");
    expect(pruneTyping(next.typing, 6_001)).toEqual({});
    next = applyEvent(next, event("MESSAGE_CREATED", "s", { message: message(2, { sender: user("bob", "Bob") }) }), "me", 2_000).state;
    expect(typingText(next.typing, "s", 2_000)).toBe("");
  });

  it("ignores the viewer's own typing", () => {
    const next = applyEvent(state(), event("TYPING", "s", { user: user("me") }), "me", 0).state;
    expect(next.typing).toEqual({});
  });

  it("drops the conversation when the viewer is no longer a member", () => {
    const e = { ...event("MEMBER_REMOVED", "s", { user: user("me") }), session: null };
    const next = applyEvent(state(), e, "me", 0).state;
    expect(next.conversations.s).toBeUndefined();
    expect(next.inbox.sessions.s).toBeUndefined();
  });

  it("LAGGED and RESYNC leave the state as it is", () => {
    const before = state();
    expect(applyEvent(before, event("LAGGED", null), "me", 0).state).toBe(before);
    expect(applyEvent(before, event("RESYNC", null), "me", 0).state).toBe(before);
  });
});

describe("blockChanged", () => {
  it("marks the blocked sender's messages in loaded conversations and the inbox", () => {
    const next = blockChanged(state(), "bob", true);
    expect(next.conversations.s.messages[0].senderBlocked).toBe(true);
    expect(next.inbox.sessions.s.members.find((m) => m.user.id === "bob")!.user.blockedByViewer).toBe(true);
    expect(blockChanged(next, "bob", true)).toBe(next);
    const back = blockChanged(next, "bob", false);
    expect(back.conversations.s.messages[0].senderBlocked).toBe(false);
  });

  it("a reaction event reaches the open conversation", () => {
    const reacted = message(1, { reactions: [{ emoji: "🎉", count: 2, reactedByViewer: true }] });
    const { state: next } = applyEvent(state(), event("REACTION_ADDED", "s", { message: reacted, emoji: "🎉" }), "me", 0);
    expect(next.conversations.s.messages[0].reactions).toEqual(reacted.reactions);
  });
});
