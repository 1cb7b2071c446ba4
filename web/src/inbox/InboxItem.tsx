import { memo } from "react";
import { Link } from "wouter";
import { Avatar } from "../ui/Avatar";
import { MutedIcon } from "../ui/MutedIcon";
import { fullTime, shortTime } from "../ui/time";
import {
  mentionBadgeLabel,
  sessionAvatarUrl,
  sessionTitle,
  unreadBadge,
  type InboxSession,
} from "./inboxState";
import { attachmentsSummary } from "../conversation/attachments";
import { useMuted } from "./useMuted";

/** The preview line: the last message, with its sender in a group or "You:". */
function preview(session: InboxSession, viewerId: string): string {
  const last = session.lastMessage;
  if (!last) return "No messages yet";
  const text =
    last.deletedAt || last.body == null
      ? "Message deleted"
      : last.body.trim() === "" && last.attachments.length > 0
        ? attachmentsSummary(last.attachments)
        : last.body;
  if (last.sender.id === viewerId) return `You: ${text}`;
  if (session.kind === "GROUP" && last.senderBlocked) return "Message from a blocked user";
  return session.kind === "GROUP" ? `${last.sender.displayName}: ${text}` : text;
}

/** One conversation of the inbox: a link whose name starts with the title, then "Muted"
 *  when it is, the preview, the time, "n unread mentions" and "n unread". */
export const InboxItem = memo(function InboxItem(props: {
  session: InboxSession;
  viewerId: string;
  active: boolean;
}) {
  const { session, viewerId } = props;
  const title = sessionTitle(session, viewerId);
  const badge = unreadBadge(session.unreadCount);
  const mentions = mentionBadgeLabel(session.unreadMentionCount);
  const { muted, description } = useMuted(session.mutedUntil);
  return (
    <li>
      <Link
        href={`/c/${session.id}`}
        className={`inbox-item${badge ? " unread" : ""}${muted ? " is-muted" : ""}`}
        aria-current={props.active ? "page" : undefined}
      >
        <span className="inbox-title">
          <span className="inbox-title-text">{title}</span>
          {muted && <MutedIcon description={description} />}
        </span>
        <Avatar name={title} url={sessionAvatarUrl(session, viewerId)} size={44} />
        <span className="inbox-preview">{preview(session, viewerId)}</span>
        <time className="inbox-time" dateTime={session.lastActivityAt} title={fullTime(session.lastActivityAt)}>
          {shortTime(session.lastActivityAt)}
        </time>
        {(badge || mentions) && (
          <span className="inbox-badges">
            {mentions && (
              <span className="badge mention-badge" role="img" aria-label={mentions} title={mentions}>
                @
              </span>
            )}
            {badge && (
              <span className="badge" role="img" aria-label={`${badge} unread`}>
                {badge}
              </span>
            )}
          </span>
        )}
      </Link>
    </li>
  );
});
