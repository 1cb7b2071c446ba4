import { useState } from "react";
import { Link } from "wouter";
import { sessionAvatarUrl, type InboxSession } from "../inbox/inboxState";
import { MUTE_CHOICES } from "../inbox/mute";
import { useMuted } from "../inbox/useMuted";
import { useChatService } from "../live/ChatContext";
import { Avatar } from "../ui/Avatar";
import { ConfirmInline, useConfirm } from "../ui/ConfirmInline";
import { MenuButton, type MenuItem } from "../ui/Menu";
import { MutedIcon } from "../ui/MutedIcon";

/** Three dots: the options button's icon. */
function MoreIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <circle cx="5" cy="12" r="2" fill="currentColor" />
      <circle cx="12" cy="12" r="2" fill="currentColor" />
      <circle cx="19" cy="12" r="2" fill="currentColor" />
    </svg>
  );
}

/**
 * The conversation's header: back link, picture, title, the muted indicator, "Details",
 * and the "Conversation options" menu (mute for a while or for good, unmute; in a direct
 * conversation block or unblock the other person, blocking asked in place first).
 */
export function ConversationHeader(props: {
  session: InboxSession;
  title: string;
  viewerId: string;
  /** Shows an error sentence of an option (null clears it). */
  onError(message: string | null): void;
}) {
  const { session, title, viewerId, onError } = props;
  const service = useChatService();
  const { muted, description } = useMuted(session.mutedUntil);
  const blocking = useConfirm();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState("");
  const other =
    session.kind === "DIRECT" ? (session.members.find((m) => m.user.id !== viewerId)?.user ?? null) : null;

  async function run(action: () => Promise<string | null>, success: string) {
    setBusy(true);
    setDone("");
    const error = await action();
    setBusy(false);
    onError(error);
    if (!error) setDone(success);
    return error;
  }

  const items: MenuItem[] = MUTE_CHOICES.map(({ choice, label }) => ({
    key: choice,
    label,
    onSelect: () =>
      void run(
        () => service.mute(session.id, choice),
        choice === "forever" ? "Muted until you unmute." : `${label.replace("Mute", "Muted")}.`,
      ),
  }));
  if (muted) {
    items.push({
      key: "unmute",
      label: "Unmute",
      onSelect: () => void run(() => service.unmute(session.id), "Unmuted."),
    });
  }
  if (other) {
    items.push(
      other.blockedByViewer
        ? {
            key: "unblock",
            label: `Unblock ${other.displayName}`,
            onSelect: () => void run(() => service.setBlocked(other.id, false), `${other.displayName} is unblocked.`),
          }
        : { key: "block", label: `Block ${other.displayName}`, onSelect: blocking.ask },
    );
  }

  async function confirmBlock() {
    if (!other) return;
    await run(() => service.setBlocked(other.id, true), `${other.displayName} is blocked.`);
    // Done or refused (the error shows under the header): the focus goes back to the menu.
    blocking.cancel();
  }

  return (
    <>
      <header className="conversation-header">
        <Link href="/" className="back">
          <span aria-hidden="true">←</span>
          <span className="visually-hidden">All conversations</span>
        </Link>
        <Avatar name={title} url={sessionAvatarUrl(session, viewerId)} size={36} />
        <div className="conversation-title">
          <h2 id="conversation-title">{title}</h2>
          {muted && <MutedIcon description={description} />}
        </div>
        <Link href={`/c/${session.id}/details`} className="details-link">
          Details
        </Link>
        <MenuButton
          label="Conversation options"
          className="options-menu"
          buttonClassName="icon-button"
          buttonRef={blocking.trigger}
          items={items}
        >
          <MoreIcon />
        </MenuButton>
      </header>
      {blocking.confirming && other && (
        <div className="conversation-confirm">
          <ConfirmInline
            question={`Block ${other.displayName}? They will no longer be able to message you or start a conversation with you. You can unblock them from this menu or your profile.`}
            confirmLabel="Yes, block"
            busyLabel="Blocking…"
            busy={busy}
            onConfirm={() => void confirmBlock()}
            onCancel={blocking.cancel}
          />
        </div>
      )}
      {other?.blockedByViewer && (
        <p className="blocked-note">
          You blocked {other.displayName}: they cannot message you.{" "}
          <button
            type="button"
            className="link-button"
            disabled={busy}
            onClick={() =>
              void run(() => service.setBlocked(other.id, false), `${other.displayName} is unblocked.`).then(
                // This note goes away: the focus goes to the options menu.
                (error) => error ?? blocking.trigger.current?.focus(),
              )
            }
          >
            Unblock
          </button>
        </p>
      )}
      <p className="visually-hidden" role="status">
        {done}
      </p>
    </>
  );
}
