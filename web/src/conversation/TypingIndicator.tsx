import { useEffect, useState } from "react";
import { useChat } from "../live/ChatContext";
import { typingText } from "../live/chatState";

/** "<name> is typing…" for others typing here (each notice shows about five seconds). */
export function TypingIndicator(props: { sessionId: string }) {
  const here = useChat((s) => s.typing[props.sessionId]);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    // One timer at a time, for the next notice to run out (not a render per millisecond).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      const at = Date.now();
      setNow(at);
      const ends = Object.values(here ?? {})
        .map((entry) => entry.until)
        .filter((until) => until > at);
      if (ends.length > 0) timer = setTimeout(schedule, Math.min(...ends) - at + 20);
    };
    schedule();
    return () => clearTimeout(timer);
  }, [here]);
  return (
    <p className="typing" role="status">
      {typingText(here ? { [props.sessionId]: here } : {}, props.sessionId, now)}
    </p>
  );
}
