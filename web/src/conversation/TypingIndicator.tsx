import { useEffect, useState } from "react";
import { useChat } from "../live/ChatContext";
import { typingText } from "../live/chatState";

/** "<name> is typing…" for others typing here (each notice shows about five seconds). */
export function TypingIndicator(props: { sessionId: string }) {
  const typing = useChat((s) => s.typing);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    const here = Object.values(typing[props.sessionId] ?? {});
    if (here.length === 0) return;
    const next = Math.min(...here.map((entry) => entry.until)) - Date.now();
    const timer = setTimeout(() => setNow(Date.now()), Math.max(0, next) + 20);
    return () => clearTimeout(timer);
  }, [typing, props.sessionId, now]);
  return (
    <p className="typing" role="status">
      {typingText(typing, props.sessionId, now)}
    </p>
  );
}
