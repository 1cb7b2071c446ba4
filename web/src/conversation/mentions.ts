// Mentions: `@username` in a message body, read as the server reads it
// (src/services/mentions.rs `names_in`), to highlight the ones the server recorded, and
// the composer's "@" menu of the conversation's members.

/** A piece of a body: plain text, or a mention of a member (the viewer or someone else). */
export interface MentionSegment {
  text: string;
  mention: null | "other" | "viewer";
}

/** One `@name` in a body: where it starts (the "@") and ends, and the name, lower-cased. */
export interface NameAt {
  start: number;
  end: number;
  name: string;
}

/** Username length, as the server's USERNAME_LEN (3–32). */
const NAME_MIN = 3;
const NAME_MAX = 32;

function isNameChar(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9_.]$/.test(c);
}

/** Where a name may start: at the start of the text, or after a character that cannot be
 *  part of a name or an e-mail address (not after "ada@", nor after "@"). */
function startsName(text: string, at: number): boolean {
  if (text[at] !== "@") return false;
  const before = at > 0 ? text[at - 1] : undefined;
  return !(isNameChar(before) || before === "@");
}

/** Every `@name` of a body the server would read as a mention (a trailing full stop ends
 *  the sentence, not the name). */
export function namesIn(body: string): NameAt[] {
  const found: NameAt[] = [];
  for (let i = 0; i < body.length; i++) {
    if (!startsName(body, i)) continue;
    let end = i + 1;
    while (end < body.length && isNameChar(body[end])) end++;
    while (end > i + 1 && body[end - 1] === ".") end--;
    const name = body.slice(i + 1, end);
    if (name.length >= NAME_MIN && name.length <= NAME_MAX) {
      found.push({ start: i, end, name: name.toLowerCase() });
    }
    i = Math.max(i, end - 1);
  }
  return found;
}

/**
 * Splits a body into text and the `@username` mentions the server recorded (`mentioned`:
 * `Message.mentions`), the viewer's own marked apart. An `@name` of no member mentioned
 * stays text. The pieces join back to the body exactly.
 */
export function mentionSegments(
  body: string,
  mentioned: readonly { username: string }[],
  viewerUsername: string,
): MentionSegment[] {
  if (body === "") return [];
  const names = new Set(mentioned.map((u) => u.username.toLowerCase()));
  const viewer = viewerUsername.toLowerCase();
  const segments: MentionSegment[] = [];
  let last = 0;
  if (names.size > 0) {
    for (const at of namesIn(body)) {
      if (!names.has(at.name)) continue;
      if (at.start > last) segments.push({ text: body.slice(last, at.start), mention: null });
      segments.push({ text: body.slice(at.start, at.end), mention: at.name === viewer ? "viewer" : "other" });
      last = at.end;
    }
  }
  if (last < body.length) segments.push({ text: body.slice(last), mention: null });
  return segments;
}

/** The `@name` being typed at the caret: where its "@" is and what follows it so far. */
export interface MentionQuery {
  start: number;
  query: string;
}

/** The mention being typed just before `caret`, or null: an "@" where a name may start,
 *  then only name characters up to the caret (none yet right after typing "@"). */
export function activeMention(text: string, caret: number): MentionQuery | null {
  let at = caret;
  while (at > 0 && isNameChar(text[at - 1])) at--;
  const start = at - 1;
  if (start < 0 || !startsName(text, start)) return null;
  const query = text.slice(at, caret);
  return query.length <= NAME_MAX ? { start, query } : null;
}

/** A member the composer can mention. */
export interface Mentionable {
  id: string;
  username: string;
  displayName: string;
}

/** How well a member matches what was typed: 0 best; null not at all. */
function rank(member: Mentionable, query: string): number | null {
  if (query === "") return 2;
  const username = member.username.toLowerCase();
  const name = member.displayName.toLowerCase();
  if (username.startsWith(query)) return 0;
  if (name.split(/\s+/).some((word) => word.startsWith(query))) return 1;
  if (username.includes(query) || name.includes(query)) return 3;
  return null;
}

/** The members to offer for what was typed after "@" (never the viewer): username starts
 *  first, then a word of the name, then anywhere; by name within each; at most `limit`. */
export function suggestMembers(
  members: readonly Mentionable[],
  query: string,
  viewerId: string,
  limit = 8,
): Mentionable[] {
  const q = query.toLowerCase();
  return members
    .filter((m) => m.id !== viewerId)
    .map((member) => ({ member, rank: rank(member, q) }))
    .filter((x): x is { member: Mentionable; rank: number } => x.rank !== null)
    .sort(
      (a, b) =>
        a.rank - b.rank ||
        a.member.displayName.localeCompare(b.member.displayName) ||
        a.member.username.localeCompare(b.member.username),
    )
    .slice(0, limit)
    .map((x) => x.member);
}

/** The text once the `@query` at `mention` is replaced by `@username ` (the rest of a name
 *  the caret was inside goes too), and where the caret goes: after the space. */
export function insertMention(
  text: string,
  mention: MentionQuery,
  caret: number,
  username: string,
): { text: string; caret: number } {
  let end = caret;
  while (end < text.length && isNameChar(text[end])) end++;
  const after = text.slice(end);
  const spaced = /^\s/.test(after);
  const inserted = `@${username}${spaced ? "" : " "}`;
  const next = text.slice(0, mention.start) + inserted + after;
  return { text: next, caret: mention.start + inserted.length + (spaced ? 1 : 0) };
}

/** The ids of the members picked from the menu (by lower-case username) that the body
 *  still mentions as `@username`: a mention deleted from the text is not sent. */
export function mentionIdsFor(body: string, picked: ReadonlyMap<string, string>): string[] {
  const ids = new Set<string>();
  for (const at of namesIn(body)) {
    const id = picked.get(at.name);
    if (id) ids.add(id);
  }
  return [...ids];
}
