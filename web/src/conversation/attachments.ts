// Files chosen in the composer, before and while they upload: what may be attached, how
// chips read, and the list's state changes. The server checks everything again.

import { sizeLabel } from "../features/shared/format";

/** The server's default `MESSENGER_MAX_ATTACHMENT_BYTES`: 25 MiB. */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/** Most attachments one message may carry (the server's limit). */
export const MAX_ATTACHMENTS = 10;

/** What the composer needs of a chosen file. */
export interface FileLike {
  name: string;
  size: number;
  type: string;
}

/** One chosen file: uploading, uploaded (with its id), or refused (with why). */
export interface Draft {
  key: string;
  name: string;
  size: number;
  image: boolean;
  status: "uploading" | "ready" | "failed";
  id?: string;
  error?: string;
}

/** Why this file cannot be attached, or null. */
export function attachmentProblem(file: FileLike): string | null {
  if (file.size === 0) return `"${file.name}" is empty.`;
  if (file.size > MAX_ATTACHMENT_BYTES) {
    return `"${file.name}" is too large (${sizeLabel(file.size)}): the largest accepted is 25 MB.`;
  }
  return null;
}

/** "report.pdf, 1.2 MB". */
export function fileLabel(name: string, bytes: number): string {
  return `${name}, ${sizeLabel(bytes)}`;
}

/** Adds chosen files (uploading), as many as still fit; says why the others were left out. */
export function addFiles<F extends FileLike>(
  drafts: readonly Draft[],
  files: readonly F[],
  nextKey: () => string,
): { drafts: Draft[]; added: { draft: Draft; file: F }[]; refused: string[] } {
  const next = [...drafts];
  const added: { draft: Draft; file: F }[] = [];
  const refused: string[] = [];
  for (const file of files) {
    const why = attachmentProblem(file);
    if (why) {
      refused.push(why);
      continue;
    }
    if (next.length >= MAX_ATTACHMENTS) {
      refused.push(`A message carries at most ${MAX_ATTACHMENTS} files: "${file.name}" was left out.`);
      continue;
    }
    const draft: Draft = {
      key: nextKey(),
      name: file.name,
      size: file.size,
      image: file.type.startsWith("image/"),
      status: "uploading",
    };
    next.push(draft);
    added.push({ draft, file });
  }
  return { drafts: next, added, refused };
}

/** The list after an upload finished: ready with its id, or failed with the reason. */
export function settleDraft(
  drafts: readonly Draft[],
  key: string,
  outcome: { id: string } | { error: string },
): Draft[] {
  return drafts.map((d) =>
    d.key !== key
      ? d
      : "id" in outcome
        ? { ...d, status: "ready", id: outcome.id, error: undefined }
        : { ...d, status: "failed", error: outcome.error },
  );
}

/** Whether the message can go: nothing still uploading or failed. */
export function draftsSendable(drafts: readonly Draft[]): boolean {
  return drafts.every((d) => d.status === "ready");
}

/** The ids to send, in the order the files were chosen. */
export function draftIds(drafts: readonly Draft[]): string[] {
  return drafts.flatMap((d) => (d.status === "ready" && d.id ? [d.id] : []));
}

/** What a preview line says of a message that is only attachments: "Photo: sunset.png",
 *  "File: notes.txt", "3 attachments". */
export function attachmentsSummary(attachments: readonly { kind: string; filename: string }[]): string {
  if (attachments.length === 1) {
    const [only] = attachments;
    return `${only.kind === "IMAGE" ? "Photo" : "File"}: ${only.filename}`;
  }
  return `${attachments.length} attachments`;
}

/** How large to show an image in a bubble: at most `max` CSS pixels wide or high. */
export function displaySize(
  width: number | null | undefined,
  height: number | null | undefined,
  max = 320,
): { width: number; height: number } {
  const w = width && width > 0 ? width : max;
  const h = height && height > 0 ? height : max;
  const scale = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}
