import { describe, expect, it } from "vitest";
import { isMuted, msUntilUnmuted, mutedDescription, mutedForGood, muteUntil } from "./mute";

const now = Date.parse("2026-03-10T12:00:00.000Z");

describe("muting", () => {
  it("turns a choice into the `until` argument", () => {
    expect(muteUntil("1h", now)).toBe("2026-03-10T13:00:00.000Z");
    expect(muteUntil("8h", now)).toBe("2026-03-10T20:00:00.000Z");
    expect(muteUntil("forever", now)).toBeNull();
  });

  it("is muted until the end passes, or for good", () => {
    expect(isMuted(null, now)).toBe(false);
    expect(isMuted("2026-03-10T12:30:00Z", now)).toBe(true);
    expect(isMuted("2026-03-10T11:59:59Z", now)).toBe(false);
    expect(isMuted("9999-12-31T23:59:59Z", now)).toBe(true);
    expect(mutedForGood("9999-12-31T23:59:59Z")).toBe(true);
    expect(mutedForGood("2026-03-10T12:30:00Z")).toBe(false);
  });

  it("describes the mute", () => {
    expect(mutedDescription(null, now)).toBe("");
    expect(mutedDescription("9999-12-31T23:59:59Z", now)).toBe("Muted until you unmute");
    expect(mutedDescription("2026-03-10T13:00:00Z", now)).toMatch(/^Muted until \d/);
  });

  it("times the end of a mute that ends within the page's life", () => {
    expect(msUntilUnmuted("2026-03-10T13:00:00Z", now)).toBe(3_600_000);
    expect(msUntilUnmuted("9999-12-31T23:59:59Z", now)).toBeNull();
    expect(msUntilUnmuted("2027-03-01T00:00:00Z", now)).toBeNull();
    expect(msUntilUnmuted(null, now)).toBeNull();
  });
});
