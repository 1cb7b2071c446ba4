import { describe, expect, it } from "vitest";
import { menuKey, typeAhead } from "./menuKeys";

describe("menu keys", () => {
  it("moves with the arrows, wrapping around", () => {
    expect(menuKey("ArrowDown", 0, 3)).toBe(1);
    expect(menuKey("ArrowDown", 2, 3)).toBe(0);
    expect(menuKey("ArrowUp", 0, 3)).toBe(2);
    expect(menuKey("ArrowRight", 1, 3)).toBe(2);
    expect(menuKey("ArrowLeft", 1, 3)).toBe(0);
  });

  it("goes to either end with Home and End", () => {
    expect(menuKey("Home", 2, 3)).toBe(0);
    expect(menuKey("End", 0, 3)).toBe(2);
  });

  it("closes with Escape, leaves with Tab, ignores other keys", () => {
    expect(menuKey("Escape", 1, 3)).toBe("close");
    expect(menuKey("Tab", 1, 3)).toBe("leave");
    expect(menuKey("a", 1, 3)).toBeNull();
    expect(menuKey("ArrowDown", 0, 0)).toBeNull();
  });

  it("jumps to the next item starting with a typed letter", () => {
    const labels = ["Mute for 1 hour", "Mute for 8 hours", "Unmute", "Block Bob"];
    expect(typeAhead(labels, 0, "m")).toBe(1);
    expect(typeAhead(labels, 1, "m")).toBe(0);
    expect(typeAhead(labels, 0, "B")).toBe(3);
    expect(typeAhead(labels, 0, "z")).toBe(-1);
  });
});
