/** Initials of a name: first letters of its first two words. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  return words
    .slice(0, 2)
    .map((w) => [...w][0]?.toUpperCase() ?? "")
    .join("");
}

/** A round picture of a user or group, or their initials when there is none. Decorative
 *  (the name is always written next to it). */
export function Avatar(props: { name: string; url?: string | null; size?: number }) {
  const size = props.size ?? 40;
  const style = { width: size, height: size, fontSize: Math.round(size * 0.4) };
  return props.url ? (
    <img className="avatar" src={props.url} alt="" width={size} height={size} style={style} />
  ) : (
    <span className="avatar avatar-initials" aria-hidden="true" style={style}>
      {initials(props.name) || "?"}
    </span>
  );
}
