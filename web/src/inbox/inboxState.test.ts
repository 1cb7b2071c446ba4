import { describe, expect, it } from "vitest";
import { event, message, session, user } from "../live/testing";
import {
  applyEventToInbox,
  compareInstants,
  emptyInbox,
  inboxPageLoaded,
  mentionBadgeLabel,
  sessionFetched,
  sessionMuted,
  sessionRead,
  shouldMarkRead,
  sessionTitle,
  unreadBadge,
  userBlockChanged,
} from "./inboxState";

const page = { endCursor: "e1", hasNextPage: true };

function loaded() {
  return inboxPageLoaded(
    emptyInbox,
    [
      session("a", { lastActivityAt: "2025-01-01T10:00:00Z" }),
      session("b", { lastActivityAt: "2025-01-01T11:00:00Z" }),
    ],
    page,
    false,
  );
}

describe("inbox pages", () => {
  it("orders by last activity, newest first", () => {
    expect(loaded().order).toEqual(["b", "a"]);
  });

  it("orders as the server does: to the microsecond, then the higher id first", () => {
    const state = inboxPageLoaded(
      emptyInbox,
      [
        session("0192-a", { lastActivityAt: "2025-01-01T10:00:00.123401+00:00" }),
        session("0192-b", { lastActivityAt: "2025-01-01T10:00:00.123456+00:00" }),
        session("0192-c", { lastActivityAt: "2025-01-01T10:00:00.123401+00:00" }),
        session("0192-d", { lastActivityAt: "2025-01-01T10:00:00.1234+00:00" }),
      ],
      page,
      false,
    );
    // b is 55 µs later than a and c (same millisecond); c beats a on id; d is 1 µs earlier.
    expect(state.order).toEqual(["0192-b", "0192-c", "0192-a", "0192-d"]);
    expect(compareInstants("2025-01-01T10:00:00.5Z", "2025-01-01T10:00:00.499999Z")).toBeGreaterThan(0);
    expect(compareInstants("2025-01-01T10:00:00Z", "2025-01-01T10:00:00.000000+00:00")).toBe(0);
  });

  it("appends later pages without duplicates, and the first page replaces", () => {
    const more = inboxPageLoaded(
      loaded(),
      [session("a", { lastActivityAt: "2025-01-01T10:00:00Z" }), session("c", { lastActivityAt: "2024-12-31T00:00:00Z" })],
      { endCursor: null, hasNextPage: false },
      true,
    );
    expect(more.order).toEqual(["b", "a", "c"]);
    expect(more.hasNextPage).toBe(false);
    const fresh = inboxPageLoaded(more, [session("c")], page, false);
    expect(fresh.order).toEqual(["c"]);
  });
});

describe("pages against live updates (merge by freshness)", () => {
  const more = (nodes: ReturnType<typeof session>[], state = loaded()) =>
    inboxPageLoaded(state, nodes, { endCursor: null, hasNextPage: false }, true);

  it("a later page does not replace a newer live update of the same conversation", () => {
    // "c" came into view through an event (fetched on its own) with a new message…
    const live = sessionFetched(
      loaded(),
      session("c", { lastActivityAt: "2025-01-01T12:00:00Z", unreadCount: 1, lastMessage: message(7) }),
    );
    expect(live.order).toEqual(["c", "b", "a"]);
    // …then "Load more" answers with the copy it read before that message.
    const after = more([session("c", { lastActivityAt: "2025-01-01T09:00:00Z", unreadCount: 0, lastMessage: message(6) }), session("d", { lastActivityAt: "2025-01-01T08:00:00Z" })], live);
    expect(after.sessions.c.lastActivityAt).toBe("2025-01-01T12:00:00Z");
    expect(after.sessions.c.lastMessage?.seq).toBe(7);
    expect(after.sessions.c.unreadCount).toBe(1);
    expect(after.order).toEqual(["c", "b", "a", "d"]);
  });

  it("a page read before a read marker moved does not bring unread messages back", () => {
    let state = applyEventToInbox(loaded(), event("MESSAGE_CREATED", "a", { message: message(9) }, { lastActivityAt: "2025-01-01T10:00:00Z", unreadCount: 9 }), "me").state;
    // Another tab read everything; Bob read up to 8 (neither moves lastActivityAt).
    state = applyEventToInbox(state, event("READ_MARKER", "a", { user: user("me"), readUpTo: 9 }, { lastActivityAt: "2025-01-01T10:00:00Z", viewerReadUpTo: 9, unreadCount: 0 }), "me").state;
    state = applyEventToInbox(state, event("READ_MARKER", "a", { user: user("bob"), readUpTo: 8 }, { lastActivityAt: "2025-01-01T10:00:00Z", viewerReadUpTo: 9, unreadCount: 0 }), "me").state;
    const stale = session("a", { lastActivityAt: "2025-01-01T10:00:00Z", viewerReadUpTo: 5, unreadCount: 4, lastMessage: message(9) });
    const after = more([stale], state);
    expect(after.sessions.a.viewerReadUpTo).toBe(9);
    expect(after.sessions.a.unreadCount).toBe(0);
    expect(after.sessions.a.members.find((m) => m.user.id === "bob")?.readUpTo).toBe(8);
    // Also after markRead's answer, and for the first page (a reload) too.
    const reloaded = inboxPageLoaded(sessionRead(state, "a", 9, 0), [stale], page, false);
    expect(reloaded.sessions.a.unreadCount).toBe(0);
  });

  it("a fetched copy with later activity wins, keeping the further markers, and reorders", () => {
    const state = applyEventToInbox(loaded(), event("READ_MARKER", "a", { user: user("bob"), readUpTo: 3 }, { lastActivityAt: "2025-01-01T10:00:00Z" }), "me").state;
    const newer = session("a", { lastActivityAt: "2025-01-01T13:00:00Z", title: "Renamed", kind: "GROUP", unreadCount: 2, lastMessage: message(5) });
    const after = more([newer], state);
    expect(after.sessions.a.title).toBe("Renamed");
    expect(after.sessions.a.unreadCount).toBe(2);
    expect(after.sessions.a.lastMessage?.seq).toBe(5);
    expect(after.sessions.a.members.find((m) => m.user.id === "bob")?.readUpTo).toBe(3);
    expect(after.order).toEqual(["a", "b"]);
  });
});

describe("events on the inbox", () => {
  it("a new message moves the conversation to the top with its snapshot's unread count", () => {
    const m = message(7, { sender: user("bob", "Bob") });
    const { state, fetchSession } = applyEventToInbox(
      loaded(),
      event("MESSAGE_CREATED", "a", { message: m }, { lastActivityAt: "2025-01-01T12:00:00Z", unreadCount: 3 }),
      "me",
    );
    expect(fetchSession).toBeNull();
    expect(state.order).toEqual(["a", "b"]);
    expect(state.sessions.a.unreadCount).toBe(3);
    expect(state.sessions.a.lastMessage?.id).toBe("m7");
  });

  it("is idempotent: a replayed event leaves the same state", () => {
    const e = event("MESSAGE_CREATED", "a", { message: message(2) }, { lastActivityAt: "2025-01-01T12:00:00Z", unreadCount: 1 });
    const once = applyEventToInbox(loaded(), e, "me").state;
    const twice = applyEventToInbox(once, e, "me").state;
    expect(twice).toEqual(once);
  });

  it("an older message event does not replace a newer last message", () => {
    const start = applyEventToInbox(loaded(), event("MESSAGE_CREATED", "a", { message: message(5) }), "me").state;
    const edited = applyEventToInbox(start, event("MESSAGE_EDITED", "a", { message: message(4, { body: "edited" }) }), "me").state;
    expect(edited.sessions.a.lastMessage?.seq).toBe(5);
  });

  it("asks to fetch a conversation it does not hold", () => {
    const result = applyEventToInbox(loaded(), event("SESSION_CREATED", "z"), "me");
    expect(result.fetchSession).toBe("z");
    expect(result.state.sessions.z).toBeUndefined();
  });

  it("drops a conversation the viewer was removed from (no snapshot)", () => {
    const e = { ...event("MEMBER_REMOVED", "a", { user: user("me", "Me") }), session: null };
    const { state } = applyEventToInbox(loaded(), e, "me");
    expect(state.order).toEqual(["b"]);
  });

  it("tracks members, roles and read markers", () => {
    let state = loaded();
    state = applyEventToInbox(state, event("MEMBER_ADDED", "a", { user: user("carol", "Carol") }), "me").state;
    expect(state.sessions.a.members.map((m) => m.user.id)).toEqual(["me", "bob", "carol"]);
    state = applyEventToInbox(state, event("MEMBER_ROLE_CHANGED", "a", { user: user("carol"), role: "ADMIN" }), "me").state;
    expect(state.sessions.a.members[2].role).toBe("ADMIN");
    state = applyEventToInbox(state, event("READ_MARKER", "a", { user: user("bob"), readUpTo: 9 }), "me").state;
    expect(state.sessions.a.members[1].readUpTo).toBe(9);
    // Markers never move back.
    state = applyEventToInbox(state, event("READ_MARKER", "a", { user: user("bob"), readUpTo: 4 }), "me").state;
    expect(state.sessions.a.members[1].readUpTo).toBe(9);
    state = applyEventToInbox(state, event("MEMBER_LEFT", "a", { user: user("carol") }), "me").state;
    expect(state.sessions.a.members).toHaveLength(2);
  });

  it("renames follow the snapshot", () => {
    const { state } = applyEventToInbox(loaded(), event("SESSION_RENAMED", "a", { title: "Team" }, { title: "Team", kind: "GROUP" }), "me");
    expect(sessionTitle(state.sessions.a, "me")).toBe("Team");
  });

  it("markRead's answer clears the unread count", () => {
    const unread = applyEventToInbox(loaded(), event("MESSAGE_CREATED", "a", { message: message(3) }, { unreadCount: 2 }), "me").state;
    const read = sessionRead(unread, "a", 3, 0);
    expect(read.sessions.a.unreadCount).toBe(0);
    expect(read.sessions.a.viewerReadUpTo).toBe(3);
  });
});

describe("read markers", () => {
  it("a late markRead answer does not move the marker back (another tab read further)", () => {
    let state = applyEventToInbox(loaded(), event("MESSAGE_CREATED", "a", { message: message(9) }, { unreadCount: 9 }), "me").state;
    // Another tab read everything: the READ_MARKER event arrives first…
    state = applyEventToInbox(state, event("READ_MARKER", "a", { user: user("me"), readUpTo: 9 }, { viewerReadUpTo: 9, unreadCount: 0 }), "me").state;
    // …then this tab's older request answers with its smaller marker.
    const after = sessionRead(state, "a", 5, 4);
    expect(after.sessions.a.viewerReadUpTo).toBe(9);
    expect(after.sessions.a.unreadCount).toBe(0);
  });

  it("asks the server only to move the marker forward, once per position", () => {
    const s = session("a", { viewerReadUpTo: 5, unreadCount: 2 });
    expect(shouldMarkRead(s, 7, 0)).toBe(true);
    expect(shouldMarkRead(s, 7, 7)).toBe(false); // already requested
    expect(shouldMarkRead(s, 5, 0)).toBe(false); // not ahead of the marker
    expect(shouldMarkRead(s, 3, 0)).toBe(false); // would be backwards
    expect(shouldMarkRead(undefined, 7, 0)).toBe(false);
  });
});

describe("display helpers", () => {
  it("badges: none at zero, the count, 999+ from 1,000", () => {
    expect(unreadBadge(0)).toBeNull();
    expect(unreadBadge(3)).toBe("3");
    expect(unreadBadge(999)).toBe("999");
    expect(unreadBadge(1000)).toBe("999+");
  });

  it("a direct conversation is titled with the other person's name", () => {
    expect(sessionTitle(session("a"), "me")).toBe("Bob");
    expect(sessionTitle(session("a"), "bob")).toBe("Me");
  });
});

describe("mentions, mutes and blocks in the inbox", () => {
  it("takes the unread mention count and the mute from each event's snapshot", () => {
    const { state } = applyEventToInbox(
      loaded(),
      event(
        "MESSAGE_CREATED",
        "a",
        { message: message(3, { mentions: [{ id: "me", username: "me" }] }) },
        { unreadCount: 1, unreadMentionCount: 1, mutedUntil: "9999-12-31T23:59:59Z", lastActivityAt: "2025-01-01T12:00:00Z" },
      ),
      "me",
    );
    expect(state.sessions.a).toMatchObject({ unreadMentionCount: 1, mutedUntil: "9999-12-31T23:59:59Z" });
    // A MENTIONED event (only to the one mentioned) says the same: applying it changes nothing more.
    const again = applyEventToInbox(
      state,
      event("MENTIONED", "a", { message: message(3) }, { unreadCount: 1, unreadMentionCount: 1, mutedUntil: "9999-12-31T23:59:59Z", lastActivityAt: "2025-01-01T12:00:00Z" }),
      "me",
    ).state;
    expect(again.sessions.a.unreadMentionCount).toBe(1);
  });

  it("a reaction event updates the last message only when it is that message", () => {
    let state = applyEventToInbox(
      loaded(),
      event("MESSAGE_CREATED", "a", { message: message(3) }, { lastActivityAt: "2025-01-01T12:00:00Z" }),
      "me",
    ).state;
    const reacted = message(3, { reactions: [{ emoji: "👍", count: 1, reactedByViewer: false }] });
    state = applyEventToInbox(state, event("REACTION_ADDED", "a", { message: reacted, emoji: "👍" }, { lastActivityAt: "2025-01-01T12:00:00Z" }), "me").state;
    expect(state.sessions.a.lastMessage?.reactions).toHaveLength(1);
    state = applyEventToInbox(state, event("REACTION_ADDED", "a", { message: message(1), emoji: "👍" }, { lastActivityAt: "2025-01-01T12:00:00Z" }), "me").state;
    expect(state.sessions.a.lastMessage?.seq).toBe(3);
  });

  it("reading clears the mention count with the unread count, and an older fetch does not bring it back", () => {
    let state = sessionFetched(loaded(), session("a", { lastActivityAt: "2025-01-01T10:00:00Z", unreadCount: 2, unreadMentionCount: 1 }));
    state = sessionRead(state, "a", 5, 0, 0);
    expect(state.sessions.a).toMatchObject({ viewerReadUpTo: 5, unreadCount: 0, unreadMentionCount: 0 });
    state = sessionFetched(state, session("a", { lastActivityAt: "2025-01-01T10:00:00Z", unreadCount: 2, unreadMentionCount: 1 }));
    expect(state.sessions.a).toMatchObject({ unreadCount: 0, unreadMentionCount: 0 });
  });

  it("records a mute and keeps the order", () => {
    const before = loaded();
    const state = sessionMuted(before, "a", "2025-01-01T13:00:00Z");
    expect(state.sessions.a.mutedUntil).toBe("2025-01-01T13:00:00Z");
    expect(state.order).toEqual(before.order);
    expect(sessionMuted(state, "a", "2025-01-01T13:00:00Z")).toBe(state);
    expect(sessionMuted(state, "a", null).sessions.a.mutedUntil).toBeNull();
  });

  it("marks a blocked user in members and last messages, and only them", () => {
    let state = applyEventToInbox(
      loaded(),
      event("MESSAGE_CREATED", "a", { message: message(3) }, { lastActivityAt: "2025-01-01T12:00:00Z" }),
      "me",
    ).state;
    state = userBlockChanged(state, "bob", true);
    const bob = state.sessions.a.members.find((m) => m.user.id === "bob")!;
    expect(bob.user.blockedByViewer).toBe(true);
    expect(state.sessions.a.members.find((m) => m.user.id === "me")!.user.blockedByViewer).toBe(false);
    expect(state.sessions.a.lastMessage?.senderBlocked).toBe(true);
    expect(userBlockChanged(state, "bob", true)).toBe(state);
    expect(userBlockChanged(state, "bob", false).sessions.b.members[1].user.blockedByViewer).toBe(false);
  });

  it("names the @ badge with the count", () => {
    expect(mentionBadgeLabel(0)).toBeNull();
    expect(mentionBadgeLabel(1)).toBe("1 unread mention");
    expect(mentionBadgeLabel(3)).toBe("3 unread mentions");
    expect(mentionBadgeLabel(1000)).toBe("999+ unread mentions");
  });
});
