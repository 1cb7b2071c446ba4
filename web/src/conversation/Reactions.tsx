import { MenuButton } from "../ui/Menu";
import { QUICK_REACTIONS, reactionLabel, viewerReacted, type Reaction } from "./reactions";

/** The reactions under a message: one chip per emoji ("👍 3"), pressed when the viewer is
 *  one of those who reacted; a click toggles the viewer's reaction. */
export function ReactionChips(props: { reactions: readonly Reaction[]; onToggle(emoji: string): void }) {
  if (props.reactions.length === 0) return null;
  return (
    <div className="reactions" role="group" aria-label="Reactions">
      {props.reactions.map((reaction) => (
        <button
          key={reaction.emoji}
          type="button"
          className="reaction-chip"
          aria-pressed={reaction.reactedByViewer}
          aria-label={reactionLabel(reaction)}
          title={reaction.reactedByViewer ? "Take your reaction back" : `React with ${reaction.emoji}`}
          onClick={() => props.onToggle(reaction.emoji)}
        >
          <span className="reaction-emoji" aria-hidden="true">
            {reaction.emoji}
          </span>
          <span className="reaction-count" aria-hidden="true">
            {reaction.count}
          </span>
        </button>
      ))}
    </div>
  );
}

/** A smiling face with a plus: the "Add reaction" button's icon. */
function AddReactionIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <circle cx="10" cy="13" r="7.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
      <circle cx="7.5" cy="11.5" r="1.1" fill="currentColor" />
      <circle cx="12.5" cy="11.5" r="1.1" fill="currentColor" />
      <path d="M6.8 15.2a4 4 0 0 0 6.4 0" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
      <path d="M19.5 2.5v6M16.5 5.5h6" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
    </svg>
  );
}

/** "Add reaction": a compact menu of common emoji (checked: the viewer reacted with it;
 *  picking it again takes the reaction back). */
export function ReactionPicker(props: { reactions: readonly Reaction[]; onPick(emoji: string): void }) {
  return (
    <MenuButton
      label="Add reaction"
      className="reaction-picker"
      buttonClassName="icon-button"
      orientation="horizontal"
      placement="auto"
      items={QUICK_REACTIONS.map(({ emoji, name }) => ({
        key: emoji,
        label: name,
        content: <span aria-hidden="true">{emoji}</span>,
        checked: viewerReacted(props.reactions, emoji),
        onSelect: () => props.onPick(emoji),
      }))}
    >
      <AddReactionIcon />
    </MenuButton>
  );
}
