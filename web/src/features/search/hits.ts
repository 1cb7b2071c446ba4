/** The parts of a search hit's session that say where it was said. */
export interface HitSession {
  kind: "DIRECT" | "GROUP";
  title?: string | null;
  members: readonly { user: { id: string; displayName: string } }[];
}

/** Where a hit was said: the group's title, or "Chat with <the other person>". */
export function hitPlace(session: HitSession, viewerId: string): string {
  if (session.kind === "GROUP") return session.title ?? "Group";
  const other = session.members.find((m) => m.user.id !== viewerId);
  return other ? `Chat with ${other.user.displayName}` : "Direct chat";
}

/** Who said it: "You" for the viewer. */
export function hitSender(sender: { id: string; displayName: string }, viewerId: string): string {
  return sender.id === viewerId ? "You" : sender.displayName;
}
