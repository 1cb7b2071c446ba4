import { useRef, useState, type ChangeEvent } from "react";
import { useMutation } from "urql";
import { errorMessage } from "../ui/errors";
import { UploadAttachmentMutation } from "./attachmentOperations";
import { addFiles, fileLabel, settleDraft, type Draft } from "./attachments";
import { PaperclipIcon } from "./MessageAttachments";

/** The composer's files: chosen files upload at once; chips show each one's state with a
 *  Remove button. The composer sends `draftIds(drafts)` once `draftsSendable(drafts)`. */
export function useAttachmentDrafts() {
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [refused, setRefused] = useState<string[]>([]);
  const [, upload] = useMutation(UploadAttachmentMutation);
  const counter = useRef(0);
  /** The list as last set, for changes made between renders (uploads finishing). */
  const latest = useRef<Draft[]>([]);
  const update = (change: (current: Draft[]) => Draft[]) => {
    latest.current = change(latest.current);
    setDrafts(latest.current);
  };

  async function choose(files: readonly File[]) {
    const next = addFiles(latest.current, files, () => `d${counter.current++}`);
    update(() => next.drafts);
    setRefused(next.refused);
    await Promise.all(
      next.added.map(async ({ draft, file }) => {
        const result = await upload({ file });
        const id = result.data?.uploadAttachment.id;
        update((current) =>
          settleDraft(current, draft.key, id ? { id } : { error: errorMessage(result.error) }),
        );
      }),
    );
  }

  return {
    drafts,
    refused,
    choose,
    remove: (key: string) => update((current) => current.filter((d) => d.key !== key)),
    clear: () => {
      update(() => []);
      setRefused([]);
    },
  };
}

/** The "Attach files" button and the chips of what is chosen. */
export function AttachmentPicker(props: {
  drafts: readonly Draft[];
  refused: readonly string[];
  onChoose(files: File[]): void;
  onRemove(key: string): void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const pick = (e: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(e.target.files ?? []);
    e.target.value = "";
    if (files.length > 0) props.onChoose(files);
  };
  return (
    <div className="attach">
      <input ref={input} type="file" multiple hidden onChange={pick} aria-label="Files to attach" />
      <button type="button" className="attach-button" onClick={() => input.current?.click()}>
        <PaperclipIcon />
        Attach files
      </button>
      {props.drafts.length > 0 && (
        <ul className="attach-drafts" aria-label="Files to send">
          {props.drafts.map((d) => (
            <li key={d.key} className={`attach-draft attach-${d.status}`}>
              <span className="attach-name">{fileLabel(d.name, d.size)}</span>
              <span className="attach-status" role={d.status === "failed" ? "alert" : undefined}>
                {d.status === "uploading" ? "Uploading…" : d.status === "failed" ? d.error : "Ready"}
              </span>
              <button type="button" onClick={() => props.onRemove(d.key)} aria-label={`Remove ${d.name}`}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {props.refused.map((why) => (
        <p key={why} role="alert" className="attach-refused">
          {why}
        </p>
      ))}
    </div>
  );
}
