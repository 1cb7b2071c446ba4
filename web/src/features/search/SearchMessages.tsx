import { useId, useMemo, useState, type FormEvent } from "react";
import { useQuery } from "urql";
import { Link } from "wouter";
import { useAuth } from "../../auth/AuthContext";
import { graphql } from "../../gql";
import { Avatar } from "../../ui/Avatar";
import { errorMessage } from "../../ui/errors";
import { momentLabel } from "../shared/format";
import { useDebounced } from "../shared/useDebounced";
import { MESSAGE_SEARCH_MAX, messageSearchError, normalize } from "../shared/validation";
import { highlight, searchTerms, snippet } from "./highlight";
import { hitPlace, hitSender } from "./hits";
import { Alert } from "../shared/Alert";
import "../shared/shared.css";
import "./search.css";

const SearchMessagesQueryDocument = graphql(`
  query SearchMessages($text: String!, $first: Int!, $after: String) {
    searchMessages(text: $text, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        body
        createdAt
        editedAt
        sender {
          id
          displayName
          avatar {
            url(size: 128)
          }
        }
        session {
          id
          kind
          title
          members {
            user {
              id
              displayName
            }
          }
        }
      }
    }
  }
`);

/** Hits per page. */
export const SEARCH_PAGE = 20;

/** Route `/search`: full-text search over the viewer's conversations, newest first. */
export function SearchMessages(_props: {}) {
  const id = useId();
  const [text, setText] = useState("");
  const [submitted, setSubmitted] = useState<string | null>(null);
  const trimmed = normalize(text);
  const problem = trimmed === "" ? null : messageSearchError(text);
  const debounced = useDebounced(problem ? "" : trimmed, 400);
  // Enter searches at once; typing searches after a pause.
  const search = submitted === trimmed ? trimmed : debounced;
  const [pages, setPages] = useState<{ search: string; cursors: (string | null)[] }>({
    search: "",
    cursors: [null],
  });
  const cursors = pages.search === search ? pages.cursors : [null];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!problem && trimmed) setSubmitted(trimmed);
  };

  return (
    <section className="f-page" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Search</h2>
      <form role="search" className="f-form" onSubmit={submit} noValidate>
        <label htmlFor={`${id}-q`} className="f-label">
          Search messages
        </label>
        <div className="f-row">
          <input
            id={`${id}-q`}
            type="search"
            value={text}
            maxLength={MESSAGE_SEARCH_MAX * 2}
            autoComplete="off"
            aria-invalid={problem ? true : undefined}
            aria-describedby={`${id}-hint`}
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit" disabled={!!problem || trimmed === ""}>
            Search
          </button>
        </div>
        <p id={`${id}-hint`} className="f-hint">
          Whole words, any case. Use "quotes" for a phrase, or between alternatives, and -word
          to leave a word out.
        </p>
        <Alert message={problem} />
      </form>
      {search !== "" && (
        <ol className="f-hits" aria-label="Results">
          {cursors.map((after, i) => (
            <HitsPage
              key={after ?? ""}
              search={search}
              after={after}
              first={i === 0}
              last={i === cursors.length - 1}
              onMore={(cursor) => setPages({ search, cursors: [...cursors, cursor] })}
            />
          ))}
        </ol>
      )}
    </section>
  );
}

function HitsPage(props: {
  search: string;
  after: string | null;
  first: boolean;
  last: boolean;
  onMore: (cursor: string) => void;
}) {
  const { viewer } = useAuth();
  const viewerId = viewer?.id ?? "";
  const terms = useMemo(() => searchTerms(props.search), [props.search]);
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: SearchMessagesQueryDocument,
    variables: { text: props.search, first: SEARCH_PAGE, after: props.after },
    requestPolicy: "cache-and-network",
  });

  if (!data) {
    return (
      <li className="f-hits-status">
        {error ? (
          <>
            <p role="alert" className="f-error">
              {errorMessage(error)}
            </p>
            <button type="button" onClick={() => reexecute({ requestPolicy: "network-only" })}>
              Try again
            </button>
          </>
        ) : (
          <p className="f-muted" role="status">
            {fetching ? "Searching…" : ""}
          </p>
        )}
      </li>
    );
  }
  const { nodes, pageInfo } = data.searchMessages;
  return (
    <>
      {props.first && nodes.length === 0 && (
        <li className="f-hits-status">
          <p className="f-muted" role="status">
            No messages found for “{props.search}”.
          </p>
        </li>
      )}
      {nodes.map((hit) => (
        <li key={hit.id} className="f-hit">
          <Link href={`/c/${hit.session.id}`} className="f-hit-link">
            <Avatar name={hit.sender.displayName} url={hit.sender.avatar?.url} size={36} />
            <span className="f-hit-main">
              <span className="f-hit-meta">
                <span className="f-strong">{hitSender(hit.sender, viewerId)}</span>
                <span className="f-muted" aria-hidden="true">
                  ·
                </span>
                <span className="f-hit-place">
                  <span className="visually-hidden">in </span>
                  {hitPlace(hit.session, viewerId)}
                </span>
                <time className="f-hit-time f-muted" dateTime={hit.createdAt}>
                  {momentLabel(hit.createdAt)}
                </time>
              </span>
              <span className="f-hit-body">
                {hit.body === null || hit.body === undefined ? (
                  <em className="f-muted">Deleted message</em>
                ) : (
                  highlight(snippet(hit.body, terms), terms).map((s, i) =>
                    s.match ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>,
                  )
                )}
              </span>
            </span>
          </Link>
        </li>
      ))}
      {props.last && pageInfo.hasNextPage && pageInfo.endCursor && (
        <li className="f-hits-status">
          <button type="button" disabled={fetching} onClick={() => props.onMore(pageInfo.endCursor!)}>
            Load more
          </button>
        </li>
      )}
    </>
  );
}
