// Client-side checks mirroring the server's input rules (schema.graphql and
// src/services/input.rs): text is NFC-normalized and trimmed, lengths count Unicode
// characters (code points), and control characters are refused. The server stays the
// judge: its BAD_USER_INPUT message is shown too when it refuses something these allow.

/** Longest group title (`CreateGroupInput.title`, `renameSession`). */
export const TITLE_MAX = 100;
/** Longest display name (`UpdateProfileInput.displayName`). */
export const DISPLAY_NAME_MAX = 64;
/** Longest location (`UpdateProfileInput.location`). */
export const LOCATION_MAX = 100;
/** Longest people search (`users(search:)`). */
export const USER_SEARCH_MAX = 64;
/** Longest message search (`searchMessages(text:)`). */
export const MESSAGE_SEARCH_MAX = 200;
/** Most members of a group, its creator included. */
export const GROUP_MAX_MEMBERS = 1000;

// Unicode general category Cc, what Rust's `char::is_control` refuses.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** The text as the server stores it: NFC, trimmed. */
export function normalize(raw: string): string {
  return raw.normalize("NFC").trim();
}

/** Length in Unicode characters, as the server counts it. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function lengthRule(label: string, raw: string, min: number, max: number): string | null {
  if (CONTROL.test(raw)) return `${label} must not contain control characters.`;
  const n = charCount(normalize(raw));
  if (n < min) return min === 1 ? `${label} must not be empty.` : `${label} must be at least ${min} characters long.`;
  if (n > max) return `${label} must be at most ${max} characters long (it has ${n}).`;
  return null;
}

/** Why a group title would be refused, or null. */
export function titleError(raw: string): string | null {
  return lengthRule("The group title", raw, 1, TITLE_MAX);
}

/** Why a display name would be refused, or null. */
export function displayNameError(raw: string): string | null {
  return lengthRule("The display name", raw, 1, DISPLAY_NAME_MAX);
}

/** Why a location would be refused, or null (empty clears it). */
export function locationError(raw: string): string | null {
  return lengthRule("The location", raw, 0, LOCATION_MAX);
}

/** Why a people search would be refused, or null (empty lists everyone). */
export function userSearchError(raw: string): string | null {
  return lengthRule("The search", raw, 0, USER_SEARCH_MAX);
}

/** Why a message search would be refused, or null. */
export function messageSearchError(raw: string): string | null {
  return lengthRule("The search", raw, 1, MESSAGE_SEARCH_MAX);
}

/** Why a new group's member list would be refused (the creator counts as one), or null. */
export function groupMembersError(otherMembers: number): string | null {
  if (otherMembers + 1 > GROUP_MAX_MEMBERS) {
    return `A group has at most ${GROUP_MAX_MEMBERS} members, you included.`;
  }
  return null;
}
