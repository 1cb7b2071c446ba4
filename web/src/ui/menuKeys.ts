// The keys of a menu (WAI-ARIA menu button pattern), as a pure function for tests.

/** What a key pressed in a menu of `count` items does with the focused item `index`:
 *  the index to focus next, "close" (Escape), "leave" (Tab: close, let the focus move on)
 *  or null (not a menu key). Arrows wrap around; Home and End go to either end. */
export function menuKey(key: string, index: number, count: number): number | "close" | "leave" | null {
  if (count <= 0) return key === "Escape" ? "close" : key === "Tab" ? "leave" : null;
  switch (key) {
    case "ArrowDown":
    case "ArrowRight":
      return (index + 1) % count;
    case "ArrowUp":
    case "ArrowLeft":
      return (index - 1 + count) % count;
    case "Home":
    case "PageUp":
      return 0;
    case "End":
    case "PageDown":
      return count - 1;
    case "Escape":
      return "close";
    case "Tab":
      return "leave";
    default:
      return null;
  }
}

/** The item whose label starts with the typed character (after `index`, wrapping), for
 *  type-ahead; -1 when none. */
export function typeAhead(labels: readonly string[], index: number, char: string): number {
  const c = char.toLowerCase();
  for (let step = 1; step <= labels.length; step++) {
    const i = (index + step) % labels.length;
    if (labels[i].toLowerCase().startsWith(c)) return i;
  }
  return -1;
}
