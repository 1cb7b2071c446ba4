// CONTRACT STUB (owned by the chat-core helper, who may restyle it and keeps the export).

/** A round picture of a user or group, or their initials when there is none. */
export function Avatar(props: { name: string; url?: string | null; size?: number }) {
  const size = props.size ?? 40;
  return props.url ? (
    <img className="avatar" src={props.url} alt="" width={size} height={size} />
  ) : (
    <span className="avatar" aria-hidden="true">
      {props.name.slice(0, 1).toUpperCase()}
    </span>
  );
}
