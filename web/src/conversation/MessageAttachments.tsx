import { sizeLabel } from "../features/shared/format";
import { displaySize } from "./attachments";

/** A sheet with a folded corner (drawn, not an emoji: emoji fonts vary). */
function FileIcon() {
  return (
    <svg className="file-chip-icon" aria-hidden="true" viewBox="0 0 16 16" width="16" height="16">
      <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" fill="none" stroke="currentColor" strokeWidth="1.2" />
    </svg>
  );
}

/** A paperclip, for "Attach files" and files on their way. */
export function PaperclipIcon() {
  return (
    <svg className="paperclip-icon" aria-hidden="true" viewBox="0 0 16 16" width="16" height="16">
      <path
        d="M11 5.5l-4.6 4.6a1.2 1.2 0 0 0 1.7 1.7l5-5a2.6 2.6 0 0 0-3.7-3.7l-5.2 5.2a4 4 0 0 0 5.7 5.7l4-4"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.2"
        strokeLinecap="round"
      />
    </svg>
  );
}

/** An attachment as a bubble shows it. */
export interface ShownAttachment {
  id: string;
  kind: "IMAGE" | "FILE";
  filename: string;
  byteSize: number;
  width?: number | null;
  height?: number | null;
  url: string;
  thumbnailUrl?: string | null;
}

/** A message's files: pictures as thumbnails that open the full image, other files as chips
 *  that download. Their URLs are signed and expire; the message's next fetch brings new ones. */
export function MessageAttachments(props: { attachments: readonly ShownAttachment[] }) {
  if (props.attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {props.attachments.map((a) =>
        a.kind === "IMAGE" ? (
          <li key={a.id} className="attachment-image">
            <a href={a.url} target="_blank" rel="noopener noreferrer" aria-label={`Open picture ${a.filename}`}>
              <img
                src={a.thumbnailUrl ?? a.url}
                alt={a.filename}
                loading="lazy"
                decoding="async"
                {...displaySize(a.width, a.height)}
              />
            </a>
          </li>
        ) : (
          <li key={a.id}>
            <a className="file-chip" href={a.url} download={a.filename} rel="noopener noreferrer">
              <FileIcon />
              <span className="visually-hidden">Download </span>
              <span className="file-chip-name">{a.filename}</span>
              <span className="file-chip-size">{sizeLabel(a.byteSize)}</span>
            </a>
          </li>
        ),
      )}
    </ul>
  );
}
