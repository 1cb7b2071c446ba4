// Emoji reactions: what a chip says, the viewer's toggles shown at once (optimistic), and
// how they meet the server's answers and the live REACTION_ADDED / REACTION_REMOVED events.
//
// The server's copy of a message (from a page, an event or a mutation answer) is kept as it
// came; the viewer's toggles on their way are kept apart, in `ConversationState.reacting`,
// and laid over it when the message is shown. So an event that arrives meanwhile (someone
// else reacting) never undoes a toggle, and a toggle the server refused simply goes away.

import type { ChatMessage, ConversationState } from "./messagesState";

/** One emoji on a message, as the API gives it. */
export type Reaction = ChatMessage["reactions"][number];

/** A toggle of the viewer's on its way: the emoji as sent, and whether they react with it. */
export interface ReactionWish {
  emoji: string;
  reacted: boolean;
}

/** The viewer's toggles on their way: message id → emoji key → wish. */
export type ReactionOverlay = Readonly<Record<string, Readonly<Record<string, ReactionWish>>>>;

/** The emoji people pick from, fully qualified as the server writes them back. */
export const QUICK_REACTIONS: readonly { emoji: string; name: string }[] = [
  { emoji: "👍", name: "Thumbs up" },
  { emoji: "❤️", name: "Red heart" },
  { emoji: "😂", name: "Face with tears of joy" },
  { emoji: "🎉", name: "Party popper" },
  { emoji: "😮", name: "Surprised face" },
  { emoji: "😢", name: "Crying face" },
  { emoji: "🙏", name: "Folded hands" },
  { emoji: "👀", name: "Eyes" },
];

/** Compares emoji whatever their variation selectors ("❤" and "❤️" are one reaction). */
export function emojiKey(emoji: string): string {
  return emoji.replace(/\uFE0F/g, "");
}

/** Whether the viewer reacted with `emoji`. */
export function viewerReacted(reactions: readonly Reaction[], emoji: string): boolean {
  const key = emojiKey(emoji);
  return reactions.some((r) => emojiKey(r.emoji) === key && r.reactedByViewer);
}

/** The reactions once the viewer reacted with `emoji` (`reacted`) or took it back: the
 *  count follows, a new emoji goes last, an emoji nobody has any more goes away. */
export function withViewerReaction(
  reactions: readonly Reaction[],
  emoji: string,
  reacted: boolean,
): readonly Reaction[] {
  const key = emojiKey(emoji);
  const index = reactions.findIndex((r) => emojiKey(r.emoji) === key);
  const current = index >= 0 ? reactions[index] : null;
  if ((current?.reactedByViewer ?? false) === reacted) return reactions;
  if (reacted) {
    if (!current) return [...reactions, { emoji, count: 1, reactedByViewer: true }];
    const copy = reactions.slice();
    copy[index] = { ...current, count: current.count + 1, reactedByViewer: true };
    return copy;
  }
  const copy = reactions.slice();
  if (current!.count <= 1) copy.splice(index, 1);
  else copy[index] = { ...current!, count: current!.count - 1, reactedByViewer: false };
  return copy;
}

/** The reactions as shown: the server's, with the viewer's toggles on their way. */
export function applyReactionWishes(
  reactions: readonly Reaction[],
  wishes: Readonly<Record<string, ReactionWish>> | undefined,
): readonly Reaction[] {
  if (!wishes) return reactions;
  let shown = reactions;
  for (const wish of Object.values(wishes)) shown = withViewerReaction(shown, wish.emoji, wish.reacted);
  return shown;
}

/** The message as shown (the same object when no toggle of it is on its way). */
export function shownMessage(message: ChatMessage, overlay: ReactionOverlay): ChatMessage {
  const wishes = overlay[message.id];
  if (!wishes) return message;
  const reactions = applyReactionWishes(message.reactions, wishes);
  return reactions === message.reactions ? message : { ...message, reactions: [...reactions] };
}

/** Records a toggle of the viewer's (replacing an earlier one of the same emoji). */
export function reactionWanted(
  state: ConversationState,
  messageId: string,
  emoji: string,
  reacted: boolean,
): ConversationState {
  const wishes = { ...state.reacting[messageId], [emojiKey(emoji)]: { emoji, reacted } };
  return { ...state, reacting: { ...state.reacting, [messageId]: wishes } };
}

/** The toggle of `emoji` on its way, if any. */
export function reactionWish(
  state: ConversationState | undefined,
  messageId: string,
  emoji: string,
): ReactionWish | null {
  return state?.reacting[messageId]?.[emojiKey(emoji)] ?? null;
}

function withoutWish(state: ConversationState, messageId: string, emoji: string): ConversationState {
  const key = emojiKey(emoji);
  const wishes = state.reacting[messageId];
  if (!wishes?.[key]) return state;
  const rest = { ...wishes };
  delete rest[key];
  const reacting = { ...state.reacting };
  if (Object.keys(rest).length > 0) reacting[messageId] = rest;
  else delete reacting[messageId];
  return { ...state, reacting };
}

/** The server refused a toggle: it goes away (the chip shows the server's state again). */
export function reactionFailed(state: ConversationState, messageId: string, emoji: string): ConversationState {
  return withoutWish(state, messageId, emoji);
}

/**
 * The reactions to keep when a mutation's answer meets the copy held, which events may have
 * replaced while the mutation was on its way. Without such an event the answer is the
 * freshest there is. With one, the held copy may be fresher for the other emoji (or older:
 * the event may have been read before the mutation), so it is kept, except for the emoji
 * toggled, on which the answer, read after the toggle was stored, has the last word.
 */
export function reconcileReactions(
  held: readonly Reaction[],
  answer: readonly Reaction[],
  emoji: string,
  eventsSince: boolean,
): readonly Reaction[] {
  if (!eventsSince) return answer;
  const key = emojiKey(emoji);
  const fromAnswer = answer.find((r) => emojiKey(r.emoji) === key) ?? null;
  const index = held.findIndex((r) => emojiKey(r.emoji) === key);
  const fromHeld = index >= 0 ? held[index] : null;
  if ((fromHeld?.reactedByViewer ?? false) === (fromAnswer?.reactedByViewer ?? false)) return held;
  const copy = held.slice();
  if (fromAnswer && fromHeld) copy[index] = fromAnswer;
  else if (fromAnswer) copy.push(fromAnswer);
  else copy.splice(index, 1);
  return copy;
}

/**
 * The server answered a toggle (`reacted`: the state sent) with the message as it is now:
 * its reactions are reconciled with the copy held (see reconcileReactions), and the toggle
 * stops being laid over them unless the viewer toggled again meanwhile.
 */
export function reactionAnswered(
  state: ConversationState,
  answer: ChatMessage,
  emoji: string,
  reacted: boolean,
  eventsSince: boolean,
): ConversationState {
  const index = state.messages.findIndex((m) => m.id === answer.id);
  let next = state;
  if (index >= 0) {
    const held = state.messages[index];
    const message = eventsSince
      ? { ...held, reactions: [...reconcileReactions(held.reactions, answer.reactions, emoji, true)] }
      : answer;
    const messages = state.messages.slice();
    messages[index] = message;
    next = { ...state, messages };
  }
  const wish = reactionWish(next, answer.id, emoji);
  return wish && wish.reacted === reacted ? withoutWish(next, answer.id, emoji) : next;
}

/** A chip's accessible name: "👍 3 reactions, you reacted". */
export function reactionLabel(reaction: Reaction): string {
  const count = `${reaction.count} ${reaction.count === 1 ? "reaction" : "reactions"}`;
  return `${reaction.emoji} ${count}${reaction.reactedByViewer ? ", you reacted" : ""}`;
}
