// Checks of a chosen profile picture before it is sent (the server checks again, from
// the bytes: format, size, pixels).

import { sizeLabel } from "../shared/format";

/** The server's default `MESSENGER_MAX_UPLOAD_BYTES`: 5 MiB. */
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;

/** Formats the server reads (by content); the file input offers these. */
export const AVATAR_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"] as const;

/** The file input's `accept`. */
export const AVATAR_ACCEPT = AVATAR_TYPES.join(",");

/** Why this file cannot be a profile picture, or null. A file with no type (some
 *  systems give none) is left to the server, which reads its bytes. */
export function avatarFileProblem(file: { size: number; type: string }): string | null {
  if (file.type && !(AVATAR_TYPES as readonly string[]).includes(file.type)) {
    return "Choose a JPEG, PNG, WebP or GIF picture.";
  }
  if (file.size === 0) return "That file is empty.";
  if (file.size > MAX_AVATAR_BYTES) {
    return `That picture is too large (${sizeLabel(file.size)}): the largest accepted is 5 MB. Choose a smaller one.`;
  }
  return null;
}
