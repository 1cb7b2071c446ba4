// Which words of a message a search matched, to mark them. The server searches with
// PostgreSQL's `websearch_to_tsquery('simple', text)`: words are lower-cased, not
// stemmed; `"exact phrase"`, `or` and `-word` work as in web search. So a word of the
// query matches a whole word of the body, whatever its case; negated words never show.

/** A piece of a message body: matched (to mark) or not. */
export interface Segment {
  text: string;
  match: boolean;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** The words of a search that a hit contains (no `or`, no negated words or phrases),
 *  lower-cased and NFC, longest first, without repeats. */
export function searchTerms(query: string): string[] {
  const terms = new Set<string>();
  // Quoted phrases (possibly negated), then bare words (possibly negated).
  const parts = /(-?)"([^"]*)"?|(\S+)/g;
  for (const m of query.normalize("NFC").matchAll(parts)) {
    let text: string;
    if (m[2] !== undefined) {
      if (m[1] === "-") continue;
      text = m[2];
    } else {
      const word = m[3];
      if (word.startsWith("-")) continue;
      if (word.toLowerCase() === "or") continue;
      text = word;
    }
    for (const w of text.matchAll(WORD)) terms.add(w[0].toLowerCase());
  }
  return [...terms].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Splits `body` into pieces, marking the whole words that are among `terms`. The pieces
 *  join back to `body` exactly. */
export function highlight(body: string, terms: readonly string[]): Segment[] {
  if (body === "") return [];
  if (terms.length === 0) return [{ text: body, match: false }];
  const alternatives = terms.map(escapeRegExp).join("|");
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives})(?![\\p{L}\\p{N}])`, "giu");
  const segments: Segment[] = [];
  let last = 0;
  for (const m of body.matchAll(pattern)) {
    const start = m.index;
    if (m[0] === "") continue;
    if (start > last) segments.push({ text: body.slice(last, start), match: false });
    segments.push({ text: m[0], match: true });
    last = start + m[0].length;
  }
  if (last < body.length) segments.push({ text: body.slice(last), match: false });
  return segments;
}

/** At most about `max` characters of `body` around its first matched word, with "…"
 *  where text was cut (long messages would otherwise fill the results). */
export function snippet(body: string, terms: readonly string[], max = 280): string {
  if (body.length <= max) return body;
  let start = 0;
  let pos = 0;
  for (const segment of highlight(body, terms)) {
    if (segment.match) {
      start = Math.max(0, pos - Math.floor(max / 3));
      break;
    }
    pos += segment.text.length;
  }
  // Cut at spaces when one is near.
  if (start > 0) {
    const space = body.indexOf(" ", start);
    if (space !== -1 && space - start < 20) start = space + 1;
  }
  let end = Math.min(body.length, start + max);
  if (end < body.length) {
    const space = body.lastIndexOf(" ", end);
    if (space > start + max - 20) end = space;
  }
  // Never inside a surrogate pair.
  const safe = (i: number) => (i > 0 && i < body.length && /[\uDC00-\uDFFF]/.test(body[i]) ? i - 1 : i);
  start = safe(start);
  end = safe(end);
  return `${start > 0 ? "…" : ""}${body.slice(start, end)}${end < body.length ? "…" : ""}`;
}
