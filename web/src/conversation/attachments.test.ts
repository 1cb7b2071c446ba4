import { describe, expect, it } from "vitest";
import {
  MAX_ATTACHMENTS,
  MAX_ATTACHMENT_BYTES,
  addFiles,
  attachmentProblem,
  attachmentsSummary,
  displaySize,
  draftIds,
  draftsSendable,
  fileLabel,
  settleDraft,
} from "./attachments";

let n = 0;
const key = () => `k${n++}`;
const file = (name: string, size = 10, type = "application/pdf") => ({ name, size, type });

describe("choosing attachments", () => {
  it("refuses empty and oversized files with the reason", () => {
    expect(attachmentProblem(file("a.pdf", 0))).toMatch(/empty/);
    expect(attachmentProblem(file("big.zip", MAX_ATTACHMENT_BYTES + 1))).toMatch(/too large.*25 MB/);
    expect(attachmentProblem(file("ok.zip", MAX_ATTACHMENT_BYTES))).toBeNull();
  });

  it("adds files as uploading, images told by type, and no more than ten", () => {
    const many = Array.from({ length: MAX_ATTACHMENTS + 2 }, (_, i) => file(`f${i}.txt`));
    const { drafts, added, refused } = addFiles([], [file("p.png", 5, "image/png"), ...many], key);
    expect(drafts).toHaveLength(MAX_ATTACHMENTS);
    expect(added).toHaveLength(MAX_ATTACHMENTS);
    expect(added[0].file.name).toBe("p.png");
    expect(drafts[0]).toMatchObject({ name: "p.png", image: true, status: "uploading" });
    expect(drafts[1].image).toBe(false);
    expect(refused).toHaveLength(3);
    expect(refused[0]).toMatch(/at most 10/);
  });

  it("sends only when every file is uploaded, in the order chosen", () => {
    const { drafts } = addFiles([], [file("a.txt"), file("b.txt")], key);
    expect(draftsSendable(drafts)).toBe(false);
    let settled = settleDraft(drafts, drafts[1].key, { id: "B" });
    settled = settleDraft(settled, drafts[0].key, { error: "the file is empty" });
    expect(draftsSendable(settled)).toBe(false);
    expect(settled[0]).toMatchObject({ status: "failed", error: "the file is empty" });
    settled = settleDraft(settled, drafts[0].key, { id: "A" });
    expect(draftsSendable(settled)).toBe(true);
    expect(draftIds(settled)).toEqual(["A", "B"]);
  });
});

describe("showing attachments", () => {
  it("labels files with their size", () => {
    expect(fileLabel("report.pdf", 1536)).toBe("report.pdf, 2 KB");
  });

  it("sums up a message that is only attachments for the inbox", () => {
    expect(attachmentsSummary([{ kind: "IMAGE", filename: "a.png" }])).toBe("Photo: a.png");
    expect(attachmentsSummary([{ kind: "FILE", filename: "b.pdf" }])).toBe("File: b.pdf");
    expect(attachmentsSummary([{ kind: "FILE", filename: "b.pdf" }, { kind: "IMAGE", filename: "a.png" }])).toBe(
      "2 attachments",
    );
  });

  it("fits pictures in a box, never enlarging them", () => {
    expect(displaySize(1600, 1200)).toEqual({ width: 320, height: 240 });
    expect(displaySize(1200, 1600)).toEqual({ width: 240, height: 320 });
    expect(displaySize(100, 50)).toEqual({ width: 100, height: 50 });
    expect(displaySize(null, undefined)).toEqual({ width: 320, height: 320 });
  });
});
