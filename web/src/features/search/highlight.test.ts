import { describe, expect, it } from "vitest";
import { highlight, searchTerms, snippet } from "./highlight";

describe("searchTerms", () => {
  it("keeps words and phrase words, drops `or` and negated parts", () => {
    expect(searchTerms("hello world")).toEqual(["hello", "world"]);
    expect(searchTerms('"good morning" or evening -night')).toEqual(["evening", "morning", "good"]);
    expect(searchTerms('cats -"hot dogs"')).toEqual(["cats"]);
    expect(searchTerms("OR Or")).toEqual([]);
    expect(searchTerms("Café CAFÉ")).toEqual(["café"]);
    expect(searchTerms("don't")).toEqual(["don", "t"]);
    expect(searchTerms('"unclosed phrase')).toEqual(["unclosed", "phrase"]);
  });
});

describe("highlight", () => {
  it("marks whole words, whatever their case", () => {
    expect(highlight("Hello there, hello!", ["hello"])).toEqual([
      { text: "Hello", match: true },
      { text: " there, ", match: false },
      { text: "hello", match: true },
      { text: "!", match: false },
    ]);
  });

  it("does not mark parts of words", () => {
    expect(highlight("catalog cat", ["cat"])).toEqual([
      { text: "catalog ", match: false },
      { text: "cat", match: true },
    ]);
  });

  it("handles several terms, accents and regex characters safely", () => {
    const segments = highlight("Un café (déca) au lait", searchTerms("café lait"));
    expect(segments.filter((s) => s.match).map((s) => s.text)).toEqual(["café", "lait"]);
    expect(segments.map((s) => s.text).join("")).toBe("Un café (déca) au lait");
    expect(highlight("a+b a", ["a+b"])).toEqual([
      { text: "a+b", match: true },
      { text: " a", match: false },
    ]);
    expect(highlight("x.y xzy", ["x.y"])).toEqual([
      { text: "x.y", match: true },
      { text: " xzy", match: false },
    ]);
  });

  it("keeps markup as plain text", () => {
    const body = '<img src=x onerror="alert(1)"> hello';
    const segments = highlight(body, ["hello"]);
    expect(segments).toEqual([
      { text: '<img src=x onerror="alert(1)"> ', match: false },
      { text: "hello", match: true },
    ]);
  });

  it("returns the body unmarked without terms", () => {
    expect(highlight("text", [])).toEqual([{ text: "text", match: false }]);
    expect(highlight("", ["x"])).toEqual([]);
  });
});

describe("snippet", () => {
  it("keeps short bodies whole", () => {
    expect(snippet("short text", ["text"])).toBe("short text");
  });

  it("cuts long bodies around the first match", () => {
    const body = `${"lorem ".repeat(100)}needle ${"ipsum ".repeat(100)}`;
    const cut = snippet(body, ["needle"], 120);
    expect(cut.startsWith("…")).toBe(true);
    expect(cut.endsWith("…")).toBe(true);
    expect(cut).toContain("needle");
    expect(cut.length).toBeLessThanOrEqual(122);
  });

  it("starts at the beginning when the match is early", () => {
    const body = `needle ${"x ".repeat(300)}`;
    const cut = snippet(body, ["needle"], 100);
    expect(cut.startsWith("needle")).toBe(true);
    expect(cut.endsWith("…")).toBe(true);
  });

  it("never splits a surrogate pair", () => {
    const body = "😀".repeat(200);
    const cut = snippet(body, [], 51);
    expect(cut.replace("…", "")).toMatch(/^(?:😀)+$/u);
  });
});
