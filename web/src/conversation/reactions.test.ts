import { describe, expect, it } from "vitest";
import { event, message } from "../live/testing";
import { applyEventToConversation, emptyConversation, newestPageLoaded, type ConversationState } from "./messagesState";
import {
  applyReactionWishes,
  emojiKey,
  reactionAnswered,
  reactionFailed,
  reactionLabel,
  reactionWanted,
  reactionWish,
  reconcileReactions,
  shownMessage,
  viewerReacted,
  withViewerReaction,
  type Reaction,
} from "./reactions";

const r = (emoji: string, count: number, reactedByViewer = false): Reaction => ({ emoji, count, reactedByViewer });

function loaded(...messages: ReturnType<typeof message>[]): ConversationState {
  return newestPageLoaded(emptyConversation, { messages, hasPreviousPage: false, startCursor: null });
}

describe("toggling a reaction", () => {
  it("adds a new emoji last, with a count of one", () => {
    expect(withViewerReaction([r("👍", 2)], "🎉", true)).toEqual([r("👍", 2), r("🎉", 1, true)]);
  });

  it("joins an emoji others reacted with, and leaves it again", () => {
    const joined = withViewerReaction([r("👍", 2), r("🎉", 1)], "👍", true);
    expect(joined).toEqual([r("👍", 3, true), r("🎉", 1)]);
    expect(withViewerReaction(joined, "👍", false)).toEqual([r("👍", 2), r("🎉", 1)]);
  });

  it("drops an emoji nobody has any more", () => {
    expect(withViewerReaction([r("👍", 1, true), r("🎉", 1)], "👍", false)).toEqual([r("🎉", 1)]);
  });

  it("changes nothing when the state is already the one asked", () => {
    const list = [r("👍", 1, true)];
    expect(withViewerReaction(list, "👍", true)).toBe(list);
    expect(withViewerReaction(list, "🎉", false)).toBe(list);
  });

  it("treats an emoji with and without its variation selector as one", () => {
    expect(emojiKey("❤️")).toBe(emojiKey("❤"));
    expect(withViewerReaction([r("❤️", 1)], "❤", true)).toEqual([r("❤️", 2, true)]);
    expect(viewerReacted([r("❤️", 1, true)], "❤")).toBe(true);
  });

  it("names a chip with its count and whether the viewer is in it", () => {
    expect(reactionLabel(r("👍", 3, true))).toBe("👍 3 reactions, you reacted");
    expect(reactionLabel(r("👍", 1))).toBe("👍 1 reaction");
  });
});

describe("optimistic toggles and the server", () => {
  it("shows a toggle at once, over the server's copy", () => {
    const m = message(1, { reactions: [r("👍", 1)] });
    const state = reactionWanted(loaded(m), m.id, "👍", true);
    expect(state.messages[0].reactions).toEqual([r("👍", 1)]);
    expect(shownMessage(state.messages[0], state.reacting).reactions).toEqual([r("👍", 2, true)]);
    // A message without toggles is shown as it is (the same object).
    const other = message(2);
    expect(shownMessage(other, state.reacting)).toBe(other);
  });

  it("an event arriving meanwhile (someone else reacting) does not undo the toggle", () => {
    const m = message(1, { reactions: [r("👍", 1)] });
    let state = reactionWanted(loaded(m), m.id, "👍", true);
    state = applyEventToConversation(
      state,
      event("REACTION_ADDED", "s", { emoji: "🎉", message: message(1, { reactions: [r("👍", 1), r("🎉", 1)] }) }),
    );
    expect(shownMessage(state.messages[0], state.reacting).reactions).toEqual([r("👍", 2, true), r("🎉", 1)]);
  });

  it("the answer replaces the copy and ends the toggle", () => {
    const m = message(1, { reactions: [] });
    let state = reactionWanted(loaded(m), m.id, "👍", true);
    // The server counts another reactor the client had not heard of yet.
    const answer = message(1, { reactions: [r("👍", 2, true)] });
    state = reactionAnswered(state, answer, "👍", true, false);
    expect(state.reacting).toEqual({});
    expect(state.messages[0].reactions).toEqual([r("👍", 2, true)]);
  });

  it("a toggle made again while the first was on its way stays shown", () => {
    const m = message(1, { reactions: [] });
    let state = reactionWanted(loaded(m), m.id, "👍", true);
    state = reactionWanted(state, m.id, "👍", false);
    state = reactionAnswered(state, message(1, { reactions: [r("👍", 1, true)] }), "👍", true, false);
    expect(reactionWish(state, m.id, "👍")).toEqual({ emoji: "👍", reacted: false });
    expect(shownMessage(state.messages[0], state.reacting).reactions).toEqual([]);
    state = reactionAnswered(state, message(1, { reactions: [] }), "👍", false, false);
    expect(state.reacting).toEqual({});
  });

  it("a refused toggle goes away and the server's state shows again", () => {
    const m = message(1, { reactions: [r("👍", 1, true)] });
    let state = reactionWanted(loaded(m), m.id, "👍", false);
    expect(shownMessage(state.messages[0], state.reacting).reactions).toEqual([]);
    state = reactionFailed(state, m.id, "👍");
    expect(shownMessage(state.messages[0], state.reacting).reactions).toEqual([r("👍", 1, true)]);
  });

  it("with events since the request, keeps their copy but the answer's word on the emoji toggled", () => {
    // The event (read before the toggle was stored) knows of 🎉; the answer does not yet.
    const held = [r("👍", 1), r("🎉", 1)];
    const answer = [r("👍", 2, true)];
    expect(reconcileReactions(held, answer, "👍", true)).toEqual([r("👍", 2, true), r("🎉", 1)]);
    // The event already shows the toggle: it is kept as it is.
    const already = [r("👍", 3, true), r("🎉", 1)];
    expect(reconcileReactions(already, answer, "👍", true)).toBe(already);
    // A removal the event did not show yet.
    expect(reconcileReactions([r("👍", 1, true), r("🎉", 1)], [], "👍", true)).toEqual([r("🎉", 1)]);
    // Without events since, the answer is the freshest copy.
    expect(reconcileReactions(held, answer, "👍", false)).toBe(answer);
  });

  it("reactionAnswered with events since merges into the held message", () => {
    const m = message(1, { reactions: [r("🎉", 1)] });
    let state = reactionWanted(loaded(m), m.id, "👍", true);
    state = reactionAnswered(state, message(1, { reactions: [r("👍", 1, true)] }), "👍", true, true);
    expect(state.messages[0].reactions).toEqual([r("🎉", 1), r("👍", 1, true)]);
    expect(state.reacting).toEqual({});
  });

  it("live events replace a loaded message's reactions, and ignore messages not loaded", () => {
    let state = loaded(message(5), message(6));
    state = applyEventToConversation(
      state,
      event("REACTION_ADDED", "s", { emoji: "👍", message: message(6, { reactions: [r("👍", 1)] }) }),
    );
    expect(state.messages[1].reactions).toEqual([r("👍", 1)]);
    state = applyEventToConversation(
      state,
      event("REACTION_REMOVED", "s", { emoji: "👍", message: message(6, { reactions: [] }) }),
    );
    expect(state.messages[1].reactions).toEqual([]);
    const before = state;
    state = applyEventToConversation(state, event("REACTION_ADDED", "s", { message: message(2, { reactions: [r("👍", 1)] }) }));
    expect(state).toBe(before);
  });

  it("applies several wishes over one message", () => {
    const shown = applyReactionWishes([r("👍", 1, true)], {
      [emojiKey("👍")]: { emoji: "👍", reacted: false },
      [emojiKey("❤️")]: { emoji: "❤️", reacted: true },
    });
    expect(shown).toEqual([r("❤️", 1, true)]);
  });
});
