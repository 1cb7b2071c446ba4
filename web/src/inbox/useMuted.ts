import { useEffect, useState } from "react";
import { isMuted, msUntilUnmuted, mutedDescription } from "./mute";

/** Whether a conversation is muted now, and a sentence saying until when; shows the end of
 *  a mute when it comes (a render then). */
export function useMuted(mutedUntil: string | null | undefined): { muted: boolean; description: string } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const ms = msUntilUnmuted(mutedUntil, Date.now());
    if (ms === null) return;
    const timer = setTimeout(() => setTick((n) => n + 1), ms + 50);
    return () => clearTimeout(timer);
  }, [mutedUntil]);
  const now = Date.now();
  return { muted: isMuted(mutedUntil, now), description: mutedDescription(mutedUntil, now) };
}
