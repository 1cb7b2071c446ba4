import { describe, expect, it } from "vitest";
import { hitPlace, hitSender } from "./hits";

const members = [
  { user: { id: "me", displayName: "Alice" } },
  { user: { id: "b", displayName: "Bob" } },
];

describe("search hits", () => {
  it("names the group, or the other person of a direct chat", () => {
    expect(hitPlace({ kind: "GROUP", title: "Team", members }, "me")).toBe("Team");
    expect(hitPlace({ kind: "DIRECT", title: null, members }, "me")).toBe("Chat with Bob");
    expect(hitPlace({ kind: "DIRECT", title: null, members }, "b")).toBe("Chat with Alice");
    expect(hitPlace({ kind: "DIRECT", title: null, members: [members[0]] }, "me")).toBe("Direct chat");
  });

  it("calls the viewer You", () => {
    expect(hitSender({ id: "me", displayName: "Alice" }, "me")).toBe("You");
    expect(hitSender({ id: "b", displayName: "Bob" }, "me")).toBe("Bob");
  });
});
