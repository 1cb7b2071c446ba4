import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { ConfirmInline, useConfirm } from "../ui/ConfirmInline";
import { fullTime, shortTime } from "../ui/time";
import { mentionSegments } from "./mentions";
import type { ChatMessage, PendingMessage, ReplyQuote } from "./messagesState";
import { MessageAttachments, PaperclipIcon } from "./MessageAttachments";
import { ReactionChips, ReactionPicker } from "./Reactions";

/** What a message row can ask of the conversation. */
export interface MessageActions {
  reply(quote: ReplyQuote): void;
  edit(message: ChatMessage, body: string): Promise<string | null>;
  remove(message: ChatMessage): Promise<string | null>;
  /** Toggles the viewer's reaction with `emoji`; an error sentence if refused. */
  react(message: ChatMessage, emoji: string): Promise<string | null>;
  retry(pending: PendingMessage): void;
  dismiss(pending: PendingMessage): void;
}

/** A body with the `@username` mentions the server recorded marked (the viewer's more
 *  strongly). */
function MessageText(props: {
  body: string;
  mentions: readonly { username: string }[];
  viewerUsername: string;
}) {
  const { body, mentions, viewerUsername } = props;
  const segments = useMemo(
    () => mentionSegments(body, mentions, viewerUsername),
    [body, mentions, viewerUsername],
  );
  return (
    <>
      {segments.map((segment, i) =>
        segment.mention ? (
          <span key={i} className={segment.mention === "viewer" ? "mention mention-viewer" : "mention"}>
            {segment.text}
          </span>
        ) : (
          segment.text
        ),
      )}
    </>
  );
}

function Quote(props: { quote: ReplyQuote }) {
  const { quote } = props;
  const text = quote.deletedAt || quote.body == null ? "Message deleted" : quote.body;
  return (
    <blockquote className="quote">
      <span className="quote-name">{quote.sender.displayName}</span>
      <span className="quote-text">{text}</span>
    </blockquote>
  );
}

/** A stored message: sender, time, reply quote, body (mentions marked), reactions, read
 *  receipt, actions. In a group, a message from someone the viewer blocked is collapsed
 *  until they ask to see it. */
export const MessageItem = memo(function MessageItem(props: {
  message: ChatMessage;
  own: boolean;
  receipt: string | null;
  actions: MessageActions;
  viewerUsername: string;
  /** In a group (where messages from blocked senders collapse). */
  group: boolean;
}) {
  const { message, own, actions } = props;
  const [revealed, setRevealed] = useState(false);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const deleting = useConfirm();
  const editButton = useRef<HTMLButtonElement>(null);
  const body = useRef<HTMLParagraphElement>(null);
  /** Where the focus goes once the row shows the message again. */
  const focusNext = useRef<"edit" | "body" | null>(null);
  const deleted = !!message.deletedAt || message.body == null;
  const base = `m-${message.id}`;
  const fromBlocked = props.group && message.senderBlocked && !own;
  const mentionsViewer =
    !deleted && message.mentions.some((u) => u.username.toLowerCase() === props.viewerUsername.toLowerCase());

  useEffect(() => {
    const target = focusNext.current === "edit" ? editButton.current : focusNext.current === "body" ? body.current : null;
    if (target) {
      focusNext.current = null;
      target.focus();
    }
  });

  function stopEditing() {
    focusNext.current = "edit";
    setEditing(false);
  }

  async function save() {
    if (busy) return;
    setBusy(true);
    const result = await actions.edit(message, draft);
    setBusy(false);
    setError(result);
    if (!result) stopEditing();
  }

  async function confirmDelete() {
    setBusy(true);
    const result = await actions.remove(message);
    setBusy(false);
    setError(result);
    // Deleted: the row now says "Message deleted" and keeps the focus; refused: back to
    // the Delete button.
    if (result) deleting.cancel();
    else {
      focusNext.current = "body";
      deleting.close();
    }
  }

  async function react(emoji: string) {
    const result = await actions.react(message, emoji);
    setError(result);
  }

  function editKeys(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Escape") stopEditing();
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void save();
    }
  }

  if (fromBlocked && !revealed) {
    return (
      <article className="message collapsed" aria-labelledby={`${base}-body`}>
        <p className="body blocked" id={`${base}-body`}>
          Message from a blocked user
        </p>
        <button
          type="button"
          className="link-button"
          aria-describedby={`${base}-body`}
          onClick={() => setRevealed(true)}
        >
          Show
        </button>
      </article>
    );
  }

  return (
    <article
      className={`message${own ? " own" : ""}${mentionsViewer ? " mentions-viewer" : ""}`}
      aria-labelledby={`${base}-from ${base}-body`}
    >
      <header className="message-meta">
        <span className="sender" id={`${base}-from`}>
          {message.sender.displayName}
        </span>
        <time dateTime={message.createdAt} title={fullTime(message.createdAt)}>
          {shortTime(message.createdAt)}
        </time>
        {message.editedAt && !deleted && <span className="muted">(edited)</span>}
        {fromBlocked && (
          <>
            <span className="muted">(blocked)</span>
            <button type="button" className="link-button" onClick={() => setRevealed(false)}>
              Hide
            </button>
          </>
        )}
      </header>
      {message.replyTo && <Quote quote={message.replyTo} />}
      {editing ? (
        <div className="edit">
          <textarea
            aria-label="Edit message"
            value={draft}
            autoFocus
            rows={2}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={editKeys}
          />
          <button type="button" className="primary" disabled={busy} onClick={() => void save()}>
            Save
          </button>
          <button type="button" onClick={stopEditing}>
            Cancel
          </button>
        </div>
      ) : (
        <p className={`body${deleted ? " deleted" : ""}`} id={`${base}-body`} ref={body} tabIndex={-1}>
          {deleted ? (
            "Message deleted"
          ) : (
            <MessageText
              body={message.body ?? ""}
              mentions={message.mentions}
              viewerUsername={props.viewerUsername}
            />
          )}
        </p>
      )}
      {!deleted && <MessageAttachments attachments={message.attachments} />}
      {!deleted && (
        <ReactionChips reactions={message.reactions} onToggle={(emoji) => void react(emoji)} />
      )}
      {props.receipt && <p className="receipt">{props.receipt}</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {deleting.confirming && (
        <ConfirmInline
          variant="compact"
          question="Delete this message?"
          confirmLabel="Yes, delete"
          busyLabel="Deleting…"
          busy={busy}
          onConfirm={() => void confirmDelete()}
          onCancel={deleting.cancel}
        />
      )}
      {!deleted && !editing && !deleting.confirming && (
        <div className="message-actions" role="group" aria-label="Message actions">
          <button
            type="button"
            onClick={() =>
              actions.reply({
                id: message.id,
                seq: message.seq,
                body: message.body,
                deletedAt: message.deletedAt,
                sender: { id: message.sender.id, displayName: message.sender.displayName },
              })
            }
          >
            Reply
          </button>
          <ReactionPicker reactions={message.reactions} onPick={(emoji) => void react(emoji)} />
          {own && (
            <>
              <button
                ref={editButton}
                type="button"
                onClick={() => {
                  setDraft(message.body ?? "");
                  setEditing(true);
                }}
              >
                Edit
              </button>
              <button ref={deleting.trigger} type="button" onClick={deleting.ask}>
                Delete
              </button>
            </>
          )}
        </div>
      )}
    </article>
  );
});

/** An own message not stored yet: "Sending…", or "Not sent" with Retry, or refused. */
export const PendingItem = memo(function PendingItem(props: {
  pending: PendingMessage;
  senderName: string;
  actions: MessageActions;
}) {
  const { pending, actions } = props;
  const base = `p-${pending.clientMessageId}`;
  return (
    <article
      className={`message own pending ${pending.status}`}
      aria-labelledby={`${base}-from ${base}-body`}
    >
      <header className="message-meta">
        <span className="sender" id={`${base}-from`}>
          {props.senderName}
        </span>
      </header>
      {pending.replyTo && <Quote quote={pending.replyTo} />}
      <p className="body" id={`${base}-body`}>
        {pending.body}
      </p>
      {pending.attachments && pending.attachments.length > 0 && (
        <ul className="attachments pending-files" aria-label="Attachments">
          {pending.attachments.map((a) => (
            <li key={a.id} className="file-chip">
              <PaperclipIcon />
              <span className="file-chip-name">{a.name}</span>
            </li>
          ))}
        </ul>
      )}
      {pending.status === "sending" && <p className="receipt">Sending…</p>}
      {pending.status !== "sending" && (
        <div className="send-failed">
          <p role="alert" className="error">
            {pending.status === "failed" ? "Not sent" : "Refused"}
            {pending.error ? `: ${pending.error}` : ""}
          </p>
          {pending.status === "failed" && (
            <button type="button" onClick={() => actions.retry(pending)}>
              Retry
            </button>
          )}
          <button type="button" onClick={() => actions.dismiss(pending)}>
            Discard
          </button>
        </div>
      )}
    </article>
  );
});
