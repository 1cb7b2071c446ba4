const marked = new Set<string>();

/** `performance.mark(name)`; with `once`, only the first time in this page's life. */
export function mark(name: string, once = false): void {
  if (typeof performance === "undefined" || (once && marked.has(name))) return;
  marked.add(name);
  performance.mark(name);
}

/** The same, at the next animation frame after the current commit (first paint). */
export function markAfterPaint(name: string, once = false): void {
  if (typeof requestAnimationFrame === "undefined" || (once && marked.has(name))) return;
  requestAnimationFrame(() => mark(name, once));
}
