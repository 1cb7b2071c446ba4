import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from "react";

/**
 * A question asked in place (no dialog) before something that cannot be undone: the
 * question, a confirm button that takes the focus when it appears, and "Cancel". Escape
 * cancels. The group is labelled by the question, so a screen reader says what is asked.
 */
export function ConfirmInline(props: {
  question: ReactNode;
  confirmLabel: string;
  /** Shown on the confirm button while `busy`. */
  busyLabel?: string;
  busy?: boolean;
  onConfirm(): void;
  onCancel(): void;
  /** "compact" inside a message bubble; "panel" on a settings page. */
  variant?: "compact" | "panel";
}) {
  const id = useId();
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    confirm.current?.focus();
  }, []);
  const busy = props.busy ?? false;
  return (
    <div
      className={`confirm-inline confirm-inline-${props.variant ?? "panel"}`}
      role="group"
      aria-labelledby={`${id}-q`}
      onKeyDown={(event) => {
        if (event.key === "Escape" && !busy) {
          event.stopPropagation();
          props.onCancel();
        }
      }}
    >
      <p id={`${id}-q`} className="confirm-inline-question">
        {props.question}
      </p>
      <div className="confirm-inline-actions">
        <button ref={confirm} type="button" className="danger" disabled={busy} onClick={props.onConfirm}>
          {busy && props.busyLabel ? props.busyLabel : props.confirmLabel}
        </button>
        <button type="button" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/**
 * The state of a ConfirmInline and the button that opens it: `trigger` goes on that
 * button, which gets the focus back when the question is cancelled (it is rendered again
 * in place of the question).
 */
export function useConfirm() {
  const [confirming, setConfirming] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (!confirming && refocus.current) {
      refocus.current = false;
      trigger.current?.focus();
    }
  }, [confirming]);
  const ask = useCallback(() => setConfirming(true), []);
  const cancel = useCallback(() => {
    refocus.current = true;
    setConfirming(false);
  }, []);
  const close = useCallback(() => setConfirming(false), []);
  return { confirming, trigger, ask, cancel, close };
}
