// Muting a conversation: the choices the options menu offers, and what `Session.mutedUntil`
// means for the person (null: not muted; 9999-12-31T23:59:59Z: until they unmute).

/** How long the options menu mutes for. */
export type MuteChoice = "1h" | "8h" | "forever";

export const MUTE_CHOICES: readonly { choice: MuteChoice; label: string }[] = [
  { choice: "1h", label: "Mute for 1 hour" },
  { choice: "8h", label: "Mute for 8 hours" },
  { choice: "forever", label: "Mute until I unmute" },
];

const HOUR_MS = 3_600_000;

/** From this year on, `mutedUntil` means "for good" (the server writes 9999-12-31). */
const FOR_GOOD_YEAR = 9999;

/** The `until` argument of `muteSession` for a choice made at `now` (null: for good). */
export function muteUntil(choice: MuteChoice, now: number): string | null {
  switch (choice) {
    case "1h":
      return new Date(now + HOUR_MS).toISOString();
    case "8h":
      return new Date(now + 8 * HOUR_MS).toISOString();
    case "forever":
      return null;
  }
}

/** Whether a conversation muted until `mutedUntil` is muted at `now`. */
export function isMuted(mutedUntil: string | null | undefined, now: number): boolean {
  if (!mutedUntil) return false;
  const until = Date.parse(mutedUntil);
  return Number.isNaN(until) || until > now;
}

/** Whether the mute lasts until the person unmutes. */
export function mutedForGood(mutedUntil: string | null | undefined): boolean {
  return !!mutedUntil && new Date(mutedUntil).getUTCFullYear() >= FOR_GOOD_YEAR;
}

/** A sentence for the muted indicator's tooltip: "Muted until 14:05", "Muted until Tue
 *  09:00", "Muted until you unmute". Empty when not muted. */
export function mutedDescription(mutedUntil: string | null | undefined, now: number): string {
  if (!isMuted(mutedUntil, now)) return "";
  if (mutedForGood(mutedUntil)) return "Muted until you unmute";
  const until = new Date(mutedUntil!);
  const sameDay = until.toDateString() === new Date(now).toDateString();
  const time = until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay
    ? `Muted until ${time}`
    : `Muted until ${until.toLocaleDateString([], { weekday: "short" })} ${time}`;
}

/** setTimeout's longest delay: a later end needs no timer in a page's life. */
const MAX_TIMER_MS = 2_147_483_647;

/** In how many ms a mute ends (to show it ended), or null when it needs no timer. */
export function msUntilUnmuted(mutedUntil: string | null | undefined, now: number): number | null {
  if (!isMuted(mutedUntil, now) || mutedForGood(mutedUntil)) return null;
  const ms = Date.parse(mutedUntil!) - now;
  return ms > 0 && ms < MAX_TIMER_MS ? ms : null;
}
