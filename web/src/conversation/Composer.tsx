import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { ReplyQuote } from "./messagesState";

/** The message box: Enter sends, Shift+Enter starts a new line; shows the quoted message
 *  when replying. Calls `onTyping` as the person types. */
export function Composer(props: {
  replyTo: ReplyQuote | null;
  onCancelReply(): void;
  onSend(body: string): void;
  onTyping(): void;
  /** Changes when the reply target changes, to move focus into the box. */
  focusKey: string;
}) {
  const [body, setBody] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    input.current?.focus();
  }, [props.focusKey]);

  function send(event?: FormEvent) {
    event?.preventDefault();
    if (body.trim() === "") return;
    props.onSend(body);
    setBody("");
  }

  function keys(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
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
        <textarea
          ref={input}
          aria-label="Message"
          placeholder="Write a message"
          rows={1}
          value={body}
          onChange={(e) => {
            setBody(e.target.value);
            if (e.target.value.trim() !== "") props.onTyping();
          }}
          onKeyDown={keys}
        />
        <button type="submit" className="primary">
          Send
        </button>
      </div>
    </form>
  );
}
