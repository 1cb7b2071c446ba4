import { useEffect, useId, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import {
  activeMention,
  insertMention,
  mentionIdsFor,
  suggestMembers,
  type Mentionable,
} from "./mentions";
import { AttachmentPicker, useAttachmentDrafts } from "./AttachmentPicker";
import { draftIds, draftsSendable } from "./attachments";
import type { PendingAttachment, ReplyQuote } from "./messagesState";

/** The message box: Enter sends, Shift+Enter starts a new line; shows the quoted message
 *  when replying. Calls `onTyping` as the person types. Typing "@" and letters offers the
 *  conversation's members (arrows to choose, Enter or Tab to pick, Escape to close): a
 *  member picked is written `@username` and sent in `mentionIds`. */
export function Composer(props: {
  replyTo: ReplyQuote | null;
  onCancelReply(): void;
  onSend(body: string, mentionIds: string[], attachments: PendingAttachment[]): void;
  onTyping(): void;
  /** Changes when the reply target changes, to move focus into the box. */
  focusKey: string;
  /** Who may be mentioned (the viewer is left out). */
  members: readonly Mentionable[];
  viewerId: string;
}) {
  const id = useId();
  const files = useAttachmentDrafts();
  const [body, setBody] = useState("");
  const [caret, setCaret] = useState(0);
  /** The highlighted suggestion, for the mention being typed (`key`). */
  const [choice, setChoice] = useState({ key: "", index: 0 });
  /** Where the mention is whose menu Escape closed. */
  const [dismissed, setDismissed] = useState<number | null>(null);
  /** Members picked from the menu: lower-case username → id. */
  const picked = useRef(new Map<string, string>());
  const input = useRef<HTMLTextAreaElement>(null);
  const moveCaret = useRef<number | null>(null);

  useEffect(() => {
    input.current?.focus();
  }, [props.focusKey]);

  // After a pick: the caret goes after the inserted name.
  useLayoutEffect(() => {
    const at = moveCaret.current;
    if (at !== null && input.current) {
      moveCaret.current = null;
      input.current.setSelectionRange(at, at);
    }
  });

  const mention = activeMention(body, caret);
  const suggestions = mention ? suggestMembers(props.members, mention.query, props.viewerId) : [];
  const open = mention !== null && suggestions.length > 0 && dismissed !== mention.start;
  const mentionKey = mention ? `${mention.start}:${mention.query}` : "";
  const active = choice.key === mentionKey ? Math.min(choice.index, suggestions.length - 1) : 0;
  const listId = `${id}-mentions`;

  function send(event?: FormEvent) {
    event?.preventDefault();
    const ready = draftIds(files.drafts);
    if (!draftsSendable(files.drafts)) return;
    if (body.trim() === "" && ready.length === 0) return;
    const attachments = files.drafts.flatMap((d) => (d.id ? [{ id: d.id, name: d.name }] : []));
    props.onSend(body, mentionIdsFor(body, picked.current), attachments);
    files.clear();
    picked.current = new Map();
    setBody("");
    setCaret(0);
    setDismissed(null);
  }

  function pick(member: Mentionable) {
    if (!mention) return;
    const next = insertMention(body, mention, caret, member.username);
    picked.current.set(member.username.toLowerCase(), member.id);
    moveCaret.current = next.caret;
    setBody(next.text);
    setCaret(next.caret);
  }

  function keys(event: KeyboardEvent<HTMLTextAreaElement>) {
    const composing = event.nativeEvent.isComposing;
    if (open && !composing) {
      const count = suggestions.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : count - 1;
        setChoice({ key: mentionKey, index: (active + step) % count });
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
        event.preventDefault();
        pick(suggestions[active]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        setDismissed(mention!.start);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey && !composing) {
      event.preventDefault();
      send();
    }
    if (event.key === "Escape" && props.replyTo) props.onCancelReply();
  }

  const reply = props.replyTo;
  return (
    <form className="composer" onSubmit={send}>
      {reply && (
        <div className="replying">
          <blockquote className="quote">
            <span className="quote-name">Replying to {reply.sender.displayName}</span>
            <span className="quote-text">{reply.body ?? "Message deleted"}</span>
          </blockquote>
          <button type="button" onClick={props.onCancelReply}>
            Cancel reply
          </button>
        </div>
      )}
      <div className="composer-row">
        {open && (
          <ul id={listId} role="listbox" aria-label="Members to mention" className="mention-menu">
            {suggestions.map((member, i) => (
              <li
                key={member.id}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                className="mention-option"
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => pick(member)}
              >
                <span className="mention-option-name">{member.displayName}</span>
                <span className="mention-option-username">@{member.username}</span>
              </li>
            ))}
          </ul>
        )}
        <textarea
          ref={input}
          aria-label="Message"
          placeholder="Write a message"
          rows={1}
          value={body}
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          onChange={(e) => {
            setBody(e.target.value);
            setCaret(e.target.selectionStart);
            if (!activeMention(e.target.value, e.target.selectionStart)) setDismissed(null);
            if (e.target.value.trim() !== "") props.onTyping();
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onKeyDown={keys}
        />
        <button type="submit" className="primary" disabled={!draftsSendable(files.drafts)}>
          Send
        </button>
      </div>
      <AttachmentPicker
        drafts={files.drafts}
        refused={files.refused}
        onChoose={(chosen) => void files.choose(chosen)}
        onRemove={files.remove}
      />
      <p className="visually-hidden" role="status">
        {open
          ? `${suggestions.length} ${suggestions.length === 1 ? "member" : "members"} to mention: up and down arrows to choose, Enter to pick.`
          : ""}
      </p>
    </form>
  );
}
