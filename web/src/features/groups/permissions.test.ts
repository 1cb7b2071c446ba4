import { describe, expect, it } from "vitest";
import { canChangeRole, canLeave, canManage, canRemove, leaveWarning, roleLabel } from "./permissions";

describe("group permissions", () => {
  it("lets owners and admins manage groups only", () => {
    expect(canManage("GROUP", "OWNER")).toBe(true);
    expect(canManage("GROUP", "ADMIN")).toBe(true);
    expect(canManage("GROUP", "MEMBER")).toBe(false);
    expect(canManage("DIRECT", "OWNER")).toBe(false);
  });

  it("lets owners remove anyone else, admins plain members only", () => {
    expect(canRemove("GROUP", "OWNER", "OWNER", false)).toBe(true);
    expect(canRemove("GROUP", "OWNER", "ADMIN", false)).toBe(true);
    expect(canRemove("GROUP", "OWNER", "MEMBER", false)).toBe(true);
    expect(canRemove("GROUP", "OWNER", "OWNER", true)).toBe(false);
    expect(canRemove("GROUP", "ADMIN", "MEMBER", false)).toBe(true);
    expect(canRemove("GROUP", "ADMIN", "ADMIN", false)).toBe(false);
    expect(canRemove("GROUP", "ADMIN", "OWNER", false)).toBe(false);
    expect(canRemove("GROUP", "MEMBER", "MEMBER", false)).toBe(false);
    expect(canRemove("DIRECT", "OWNER", "MEMBER", false)).toBe(false);
  });

  it("lets only owners change others' roles", () => {
    expect(canChangeRole("GROUP", "OWNER", false)).toBe(true);
    expect(canChangeRole("GROUP", "OWNER", true)).toBe(false);
    expect(canChangeRole("GROUP", "ADMIN", false)).toBe(false);
    expect(canChangeRole("GROUP", "MEMBER", false)).toBe(false);
    expect(canChangeRole("DIRECT", "OWNER", false)).toBe(false);
  });

  it("lets people leave groups, not direct conversations", () => {
    expect(canLeave("GROUP")).toBe(true);
    expect(canLeave("DIRECT")).toBe(false);
  });

  it("names roles and warns about leaving", () => {
    expect(roleLabel("ADMIN")).toBe("Admin");
    expect(leaveWarning("OWNER", [{ role: "OWNER", isSelf: true }])).toMatch(/last member/);
    expect(
      leaveWarning("OWNER", [
        { role: "OWNER", isSelf: true },
        { role: "MEMBER", isSelf: false },
      ]),
    ).toMatch(/only owner/);
    expect(
      leaveWarning("OWNER", [
        { role: "OWNER", isSelf: true },
        { role: "OWNER", isSelf: false },
      ]),
    ).toMatch(/no longer see/);
    expect(
      leaveWarning("MEMBER", [
        { role: "MEMBER", isSelf: true },
        { role: "OWNER", isSelf: false },
      ]),
    ).toMatch(/no longer see/);
  });
});
