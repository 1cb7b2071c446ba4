// Who may do what in a group, as the server decides it (src/services/sessions.rs): the
// screen offers only what will be allowed. The server stays the judge (roles may change
// meanwhile); its FORBIDDEN is shown when it refuses.
import type { MemberRole, SessionKind } from "../../gql/graphql";

/** Roles in the order the role select lists them. */
export const ROLES: readonly MemberRole[] = ["OWNER", "ADMIN", "MEMBER"];

/** How a role reads. */
export function roleLabel(role: MemberRole): string {
  switch (role) {
    case "OWNER":
      return "Owner";
    case "ADMIN":
      return "Admin";
    case "MEMBER":
      return "Member";
  }
}

/** Owners and admins manage a group's members and title; direct conversations have none. */
export function canManage(kind: SessionKind, viewerRole: MemberRole): boolean {
  return kind === "GROUP" && (viewerRole === "OWNER" || viewerRole === "ADMIN");
}

/** Owners remove anyone else, admins plain members; nobody removes themselves (they
 *  leave instead). */
export function canRemove(
  kind: SessionKind,
  viewerRole: MemberRole,
  targetRole: MemberRole,
  isSelf: boolean,
): boolean {
  if (kind !== "GROUP" || isSelf) return false;
  if (viewerRole === "OWNER") return true;
  return viewerRole === "ADMIN" && targetRole === "MEMBER";
}

/** Only owners change roles, and only others'. */
export function canChangeRole(kind: SessionKind, viewerRole: MemberRole, isSelf: boolean): boolean {
  return kind === "GROUP" && viewerRole === "OWNER" && !isSelf;
}

/** Only groups can be left. */
export function canLeave(kind: SessionKind): boolean {
  return kind === "GROUP";
}

/** What leaving means for the group, said before the person confirms. */
export function leaveWarning(
  viewerRole: MemberRole,
  members: readonly { role: MemberRole; isSelf: boolean }[],
): string {
  const others = members.filter((m) => !m.isSelf);
  if (others.length === 0) return "You are its last member: the group will be empty.";
  if (viewerRole === "OWNER" && !others.some((m) => m.role === "OWNER")) {
    return "You are its only owner: the longest-standing member becomes owner.";
  }
  return "You will no longer see its messages unless someone adds you again.";
}
