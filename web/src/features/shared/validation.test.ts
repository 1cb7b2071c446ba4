import { describe, expect, it } from "vitest";
import {
  charCount,
  displayNameError,
  groupMembersError,
  locationError,
  messageSearchError,
  normalize,
  titleError,
  userSearchError,
} from "./validation";

describe("validation", () => {
  it("counts characters as the server does (code points after NFC and trim)", () => {
    expect(charCount("héllo")).toBe(5);
    expect(charCount("😀😀")).toBe(2);
    expect(normalize("  e\u0301  ")).toBe("é");
    expect(charCount(normalize("e\u0301"))).toBe(1);
  });

  it("checks group titles: 1–100 characters, no control characters", () => {
    expect(titleError("Team")).toBeNull();
    expect(titleError("   ")).toBe("The group title must not be empty.");
    expect(titleError("a".repeat(100))).toBeNull();
    expect(titleError("a".repeat(101))).toBe("The group title must be at most 100 characters long (it has 101).");
    expect(titleError("😀".repeat(100))).toBeNull();
    expect(titleError("bad\u0007title")).toBe("The group title must not contain control characters.");
    expect(titleError("two\nlines")).toBe("The group title must not contain control characters.");
  });

  it("checks display names (1–64) and locations (0–100)", () => {
    expect(displayNameError("Ada")).toBeNull();
    expect(displayNameError("")).toBe("The display name must not be empty.");
    expect(displayNameError("x".repeat(65))).toMatch(/at most 64/);
    expect(locationError("")).toBeNull();
    expect(locationError("x".repeat(100))).toBeNull();
    expect(locationError("x".repeat(101))).toMatch(/at most 100/);
  });

  it("checks searches", () => {
    expect(userSearchError("")).toBeNull();
    expect(userSearchError("x".repeat(65))).toMatch(/at most 64/);
    expect(messageSearchError(" ")).toBe("The search must not be empty.");
    expect(messageSearchError("x".repeat(200))).toBeNull();
    expect(messageSearchError("x".repeat(201))).toMatch(/at most 200/);
  });

  it("caps a group at 1,000 members with its creator", () => {
    expect(groupMembersError(999)).toBeNull();
    expect(groupMembersError(1000)).toMatch(/at most 1000/);
  });
});
