import { useId, useRef, useState } from "react";
import { PageStatus } from "../shared/PageStatus";
import { useQuery } from "urql";
import { graphql } from "../../gql";
import { useChatService } from "../../live/ChatContext";
import { Avatar } from "../../ui/Avatar";
import { Alert } from "../shared/Alert";
import { dateLabel } from "../shared/format";

/** The users the viewer blocked, most recent first. */
const BlockedUsersQueryDocument = graphql(`
  query BlockedUsers($first: Int!, $after: String) {
    blockedUsers(first: $first, after: $after) {
      nodes {
        blockedAt
        user {
          id
          username
          displayName
          avatar {
            url(size: 128)
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** Blocked users per page. */
const BLOCKED_PAGE = 50;

/** The profile's "Blocked users": whom the viewer blocked, each with an Unblock button. */
export function BlockedUsersSection() {
  const id = useId();
  const service = useChatService();
  const heading = useRef<HTMLHeadingElement>(null);
  // Each page is its own query; unblocking starts again from the first page.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [generation, setGeneration] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState("");

  async function unblock(user: { id: string; displayName: string }) {
    setBusy(user.id);
    setProblem(null);
    setNotice("");
    const error = await service.setBlocked(user.id, false);
    setBusy(null);
    if (error) {
      setProblem(error);
      return;
    }
    setNotice(`${user.displayName} is unblocked.`);
    setCursors([null]);
    setGeneration((n) => n + 1);
    heading.current?.focus();
  }

  return (
    <section className="f-section" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`} ref={heading} tabIndex={-1}>
        Blocked users
      </h3>
      <p className="f-hint">
        People you blocked cannot message you or start a conversation with you; in groups their
        messages are collapsed.
      </p>
      <ul className="f-people" aria-labelledby={`${id}-h`}>
        {cursors.map((after, i) => (
          <BlockedPage
            key={`${generation}:${after ?? ""}`}
            after={after}
            first={i === 0}
            last={i === cursors.length - 1}
            busy={busy}
            onMore={(cursor) => setCursors([...cursors, cursor])}
            onUnblock={(user) => void unblock(user)}
          />
        ))}
      </ul>
      <Alert message={problem} />
      <p role="status" className="f-ok">
        {notice}
      </p>
    </section>
  );
}

function BlockedPage(props: {
  after: string | null;
  first: boolean;
  last: boolean;
  busy: string | null;
  onMore(cursor: string): void;
  onUnblock(user: { id: string; displayName: string }): void;
}) {
  const [{ data, error, fetching }, reexecute] = useQuery({
    query: BlockedUsersQueryDocument,
    variables: { first: BLOCKED_PAGE, after: props.after },
    // Blocks change elsewhere (a conversation's menu): always ask the server.
    requestPolicy: "network-only",
  });
  if (!data) {
    return (
      <PageStatus
        error={error}
        fetching={fetching}
        busyText="Loading…"
        onRetry={() => reexecute({ requestPolicy: "network-only" })}
      />
    );
  }
  const { nodes, pageInfo } = data.blockedUsers;
  return (
    <>
      {props.first && nodes.length === 0 && <li className="f-people-status f-muted">You have not blocked anyone.</li>}
      {nodes.map(({ user, blockedAt }) => (
        <li key={user.id} className="f-person">
          <Avatar name={user.displayName} url={user.avatar?.url} size={36} />
          <span className="f-person-name">
            <span className="f-strong">{user.displayName}</span>
            <span className="f-username">
              @{user.username} · blocked <time dateTime={blockedAt}>{dateLabel(blockedAt)}</time>
            </span>
          </span>
          <button
            type="button"
            aria-label={`Unblock ${user.displayName}`}
            disabled={props.busy !== null}
            onClick={() => props.onUnblock(user)}
          >
            {props.busy === user.id ? "Unblocking…" : "Unblock"}
          </button>
        </li>
      ))}
      {props.last && pageInfo.hasNextPage && pageInfo.endCursor && (
        <li className="f-people-status">
          <button type="button" onClick={() => props.onMore(pageInfo.endCursor!)}>
            Show more blocked users
          </button>
        </li>
      )}
    </>
  );
}
