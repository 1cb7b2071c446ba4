import { memo } from "react";
import { Link } from "wouter";
import { Avatar } from "../ui/Avatar";
import { fullTime, shortTime } from "../ui/time";
import { sessionAvatarUrl, sessionTitle, unreadBadge, type InboxSession } from "./inboxState";

/** The preview line: the last message, with its sender in a group or "You:". */
function preview(session: InboxSession, viewerId: string): string {
  const last = session.lastMessage;
  if (!last) return "No messages yet";
  const text = last.deletedAt || last.body == null ? "Message deleted" : last.body;
  if (last.sender.id === viewerId) return `You: ${text}`;
  return session.kind === "GROUP" ? `${last.sender.displayName}: ${text}` : text;
}

/** One conversation of the inbox: a link whose name starts with the title. */
export const InboxItem = memo(function InboxItem(props: {
  session: InboxSession;
  viewerId: string;
  active: boolean;
}) {
  const { session, viewerId } = props;
  const title = sessionTitle(session, viewerId);
  const badge = unreadBadge(session.unreadCount);
  return (
    <li>
      <Link
        href={`/c/${session.id}`}
        className={`inbox-item${badge ? " unread" : ""}`}
        aria-current={props.active ? "page" : undefined}
      >
        <span className="inbox-title">{title}</span>
        <Avatar name={title} url={sessionAvatarUrl(session, viewerId)} size={44} />
        <span className="inbox-preview">{preview(session, viewerId)}</span>
        <time className="inbox-time" dateTime={session.lastActivityAt} title={fullTime(session.lastActivityAt)}>
          {shortTime(session.lastActivityAt)}
        </time>
        {badge && (
          <span className="badge" role="img" aria-label={`${badge} unread`}>
            {badge}
          </span>
        )}
      </Link>
    </li>
  );
});
