import { describe, expect, it } from "vitest";
import {
  activeMention,
  insertMention,
  mentionIdsFor,
  mentionSegments,
  namesIn,
  suggestMembers,
} from "./mentions";

describe("reading @names as the server does", () => {
  it("finds names at the start, after spaces and punctuation, lower-cased", () => {
    expect(namesIn("@Ada and (@bob_2), hi @cyd.x").map((n) => n.name)).toEqual(["ada", "bob_2", "cyd.x"]);
  });

  it("a trailing full stop ends the sentence, not the name", () => {
    const [at] = namesIn("thanks @ada.");
    expect(at).toEqual({ start: 7, end: 11, name: "ada" });
  });

  it("ignores e-mail addresses, doubled @ and names of the wrong length", () => {
    expect(namesIn("mail ada@example.com or @@bob or @ab or @" + "x".repeat(33))).toEqual([]);
  });
});

describe("highlighting mentions", () => {
  const mentioned = [{ username: "ada" }, { username: "bob" }];

  it("marks recorded mentions, the viewer's apart, and joins back to the body", () => {
    const body = "@ada meet @bob. Not @cyd, not ada@x.org";
    const segments = mentionSegments(body, mentioned, "bob");
    expect(segments).toEqual([
      { text: "@ada", mention: "other" },
      { text: " meet ", mention: null },
      { text: "@bob", mention: "viewer" },
      { text: ". Not @cyd, not ada@x.org", mention: null },
    ]);
    expect(segments.map((s) => s.text).join("")).toBe(body);
  });

  it("matches whatever the case written", () => {
    expect(mentionSegments("hi @ADA", mentioned, "me")).toEqual([
      { text: "hi ", mention: null },
      { text: "@ADA", mention: "other" },
    ]);
  });

  it("leaves a body without recorded mentions whole", () => {
    expect(mentionSegments("hello @ada", [], "me")).toEqual([{ text: "hello @ada", mention: null }]);
    expect(mentionSegments("", mentioned, "me")).toEqual([]);
  });
});

describe("the composer's @ menu", () => {
  const members = [
    { id: "1", username: "ada_l", displayName: "Ada Lovelace" },
    { id: "2", username: "bob", displayName: "Robert Adams" },
    { id: "3", username: "cyd", displayName: "Cyd Charisse" },
    { id: "me", username: "me", displayName: "Me Myself" },
  ];

  it("finds the name being typed before the caret", () => {
    expect(activeMention("hi @", 4)).toEqual({ start: 3, query: "" });
    expect(activeMention("hi @ad", 6)).toEqual({ start: 3, query: "ad" });
    expect(activeMention("@ad", 3)).toEqual({ start: 0, query: "ad" });
    // Caret inside the name: what is before it.
    expect(activeMention("hi @ada", 5)).toEqual({ start: 3, query: "a" });
  });

  it("is closed after a space, in an e-mail address, or without @", () => {
    expect(activeMention("hi @ada ", 8)).toBeNull();
    expect(activeMention("mail ada@ex", 11)).toBeNull();
    expect(activeMention("hello", 5)).toBeNull();
    expect(activeMention("", 0)).toBeNull();
  });

  it("offers usernames starting with the text first, then words of names, never the viewer", () => {
    expect(suggestMembers(members, "ad", "me").map((m) => m.id)).toEqual(["1", "2"]);
    expect(suggestMembers(members, "char", "me").map((m) => m.id)).toEqual(["3"]);
    expect(suggestMembers(members, "", "me").map((m) => m.id)).toEqual(["1", "3", "2"]);
    expect(suggestMembers(members, "me", "me")).toEqual([]);
    expect(suggestMembers(members, "zz", "me")).toEqual([]);
    expect(suggestMembers(members, "", "me", 2)).toHaveLength(2);
  });

  it("finds a name anywhere when no word starts with it", () => {
    expect(suggestMembers(members, "velace", "me").map((m) => m.id)).toEqual(["1"]);
  });

  it("inserts @username and a space, caret after it", () => {
    expect(insertMention("hi @ad", { start: 3, query: "ad" }, 6, "ada_l")).toEqual({ text: "hi @ada_l ", caret: 10 });
    // Inside a word: the rest of the partial name goes; an existing space is reused.
    expect(insertMention("hi @adx there", { start: 3, query: "a" }, 5, "ada_l")).toEqual({
      text: "hi @ada_l there",
      caret: 10,
    });
  });

  it("sends the ids of picked members the text still mentions", () => {
    const picked = new Map([
      ["ada_l", "1"],
      ["bob", "2"],
    ]);
    expect(mentionIdsFor("@ada_l and @ADA_L, hi", picked)).toEqual(["1"]);
    expect(mentionIdsFor("nobody now", picked)).toEqual([]);
  });
});
