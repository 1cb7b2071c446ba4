import { useCallback, useEffect, useRef } from "react";

/** True when the person can see the page: visible tab and focused window. */
function pageSeen(): boolean {
  return document.visibilityState === "visible" && document.hasFocus();
}

/**
 * Calls `markRead(newestSeq)` whenever the newest message is in view while the window is
 * focused: on new messages, on scrolling to the bottom, on focus and on tab switches.
 * Returns the callback the list reports its bottom state to.
 */
export function useMarkRead(newestSeq: number, markRead: (upTo: number) => void) {
  const atBottom = useRef(true);
  const latest = useRef({ newestSeq, markRead });
  latest.current = { newestSeq, markRead };

  const check = useCallback(() => {
    const { newestSeq: seq, markRead: mark } = latest.current;
    if (seq > 0 && atBottom.current && pageSeen()) mark(seq);
  }, []);

  useEffect(check, [newestSeq, check]);

  useEffect(() => {
    window.addEventListener("focus", check);
    document.addEventListener("visibilitychange", check);
    return () => {
      window.removeEventListener("focus", check);
      document.removeEventListener("visibilitychange", check);
    };
  }, [check]);

  return useCallback(
    (bottom: boolean) => {
      atBottom.current = bottom;
      check();
    },
    [check],
  );
}
