import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { useViewer } from "../auth/AuthContext";
import { useChat, useChatService } from "../live/ChatContext";
import { markAfterPaint } from "../ui/perf";
import { InboxItem } from "./InboxItem";

/** The conversations, most recent activity first, updated live; more load on scroll. */
export function Inbox(props: { activeId: string | null }) {
  const viewer = useViewer();
  const service = useChatService();
  const inbox = useChat((s) => s.inbox);
  const [error, setError] = useState<string | null>(null);
  const sentinel = useRef<HTMLLIElement>(null);

  useLayoutEffect(() => {
    if (inbox.loaded) markAfterPaint("inbox-rendered", true);
  }, [inbox.loaded]);

  const loadMore = () => void service.loadInbox(true).then(setError);

  useEffect(() => {
    const target = sentinel.current;
    if (!target || !inbox.hasNextPage) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void service.loadInbox(true).then(setError);
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [service, inbox.hasNextPage, inbox.endCursor]);

  return (
    <section className="inbox" aria-labelledby="inbox-heading">
      <h2 id="inbox-heading" className="pane-heading">
        Chats
      </h2>
      {!inbox.loaded && <p className="muted pad">Loading conversations…</p>}
      {inbox.loaded && inbox.order.length === 0 && (
        <p className="muted pad">
          No conversations yet. <Link href="/new">Start one</Link>.
        </p>
      )}
      <ul className="inbox-list" aria-label="Conversations" role="list">
        {inbox.order.map((id) => (
          <InboxItem
            key={id}
            session={inbox.sessions[id]}
            viewerId={viewer.id}
            active={id === props.activeId}
          />
        ))}
        {inbox.hasNextPage && (
          <li ref={sentinel} className="inbox-more">
            <button type="button" onClick={loadMore}>
              Load more conversations
            </button>
          </li>
        )}
      </ul>
      {error && (
        <p role="alert" className="error pad">
          {error}
        </p>
      )}
    </section>
  );
}
