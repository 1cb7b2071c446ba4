import { describe, expect, it } from "vitest";
import { sizeLabel } from "../shared/format";
import { AVATAR_ACCEPT, avatarFileProblem, MAX_AVATAR_BYTES } from "./avatarFile";

describe("avatar file checks", () => {
  it("accepts the four formats up to 5 MiB", () => {
    expect(AVATAR_ACCEPT).toBe("image/jpeg,image/png,image/webp,image/gif");
    expect(MAX_AVATAR_BYTES).toBe(5_242_880);
    expect(avatarFileProblem({ size: 1000, type: "image/png" })).toBeNull();
    expect(avatarFileProblem({ size: MAX_AVATAR_BYTES, type: "image/jpeg" })).toBeNull();
    expect(avatarFileProblem({ size: 1000, type: "" })).toBeNull();
  });

  it("refuses larger files, empty files and other types", () => {
    expect(avatarFileProblem({ size: MAX_AVATAR_BYTES + 1, type: "image/webp" })).toBe(
      "That picture is too large (5.0 MB): the largest accepted is 5 MB. Choose a smaller one.",
    );
    expect(avatarFileProblem({ size: 6 * 1024 * 1024, type: "image/gif" })).toMatch(/6\.0 MB/);
    expect(avatarFileProblem({ size: 0, type: "image/png" })).toBe("That file is empty.");
    expect(avatarFileProblem({ size: 10, type: "image/svg+xml" })).toBe(
      "Choose a JPEG, PNG, WebP or GIF picture.",
    );
    expect(avatarFileProblem({ size: 10, type: "application/pdf" })).toMatch(/JPEG/);
  });

  it("writes sizes for people", () => {
    expect(sizeLabel(512)).toBe("512 bytes");
    expect(sizeLabel(2048)).toBe("2 KB");
    expect(sizeLabel(3.5 * 1024 * 1024)).toBe("3.5 MB");
  });
});
