import { useId, useState, type ReactNode } from "react";
import { PageStatus } from "./PageStatus";
import { useQuery } from "urql";
import { graphql } from "../../gql";
import type { PeopleSearchQuery } from "../../gql/graphql";
import { useDebounced } from "./useDebounced";
import { normalize, userSearchError } from "./validation";
import { Alert } from "./Alert";
import "./shared.css";

/** Active users whose username or display name contains the text, a page at a time. */
export const PeopleSearchQueryDocument = graphql(`
  query PeopleSearch($search: String!, $first: Int!, $after: String) {
    users(search: $search, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        username
        displayName
        avatar {
          url(size: 128)
        }
      }
    }
  }
`);

/** A user as a search result. */
export type FoundUser = PeopleSearchQuery["users"]["nodes"][number];

/** Users per page of results. */
export const PEOPLE_PAGE = 20;

/**
 * A search field for people (debounced) and its results, page after page ("Show more
 * people"). What a result offers (a button, a checkbox) is up to `renderUser`.
 */
export function UserSearch(props: {
  /** The field's label, e.g. "Find people" or "Add people". */
  label: string;
  /** One result row's content (inside an <li>). */
  renderUser: (user: FoundUser) => ReactNode;
  /** Users not to list (the viewer, current members). */
  hideIds?: ReadonlySet<string>;
  hint?: string;
}) {
  const id = useId();
  const [text, setText] = useState("");
  const invalid = userSearchError(text);
  const search = useDebounced(invalid ? "" : normalize(text), 250);
  // Each page is its own query; a new search starts again from the first page.
  const [pages, setPages] = useState<{ search: string; cursors: (string | null)[] }>({
    search: "",
    cursors: [null],
  });
  const cursors = pages.search === search ? pages.cursors : [null];
  const loadMore = (cursor: string) =>
    setPages({ search, cursors: [...cursors, cursor] });

  return (
    <div className="f-user-search">
      <label htmlFor={`${id}-q`} className="f-label">
        {props.label}
      </label>
      <input
        id={`${id}-q`}
        type="search"
        value={text}
        autoComplete="off"
        spellCheck={false}
        placeholder="Name or username"
        aria-describedby={`${id}-hint`}
        aria-invalid={invalid ? true : undefined}
        onChange={(e) => setText(e.target.value)}
      />
      <p id={`${id}-hint`} className="f-hint">
        {props.hint ?? "Type part of a name or username."}
      </p>
      <Alert message={invalid} />
      {search !== "" && (
        <ul className="f-people" aria-label={`Results for “${search}”`}>
          {cursors.map((after, i) => (
            <PeoplePage
              key={after ?? ""}
              search={search}
              after={after}
              last={i === cursors.length - 1}
              first={i === 0}
              onMore={loadMore}
              renderUser={props.renderUser}
              hideIds={props.hideIds}
            />
          ))}
        </ul>
      )}
    </div>
  );
}

function PeoplePage(props: {
  search: string;
  after: string | null;
  first: boolean;
  last: boolean;
  onMore: (cursor: string) => void;
  renderUser: (user: FoundUser) => ReactNode;
  hideIds?: ReadonlySet<string>;
}) {
  const [result, reexecute] = useQuery({
    query: PeopleSearchQueryDocument,
    variables: { search: props.search, first: PEOPLE_PAGE, after: props.after },
    requestPolicy: "cache-and-network",
  });
  const { data, fetching, error } = result;
  if (!data) {
    return (
      <PageStatus
        error={error}
        fetching={fetching}
        busyText="Searching…"
        onRetry={() => reexecute({ requestPolicy: "network-only" })}
      />
    );
  }
  const users = data.users.nodes.filter((u) => !props.hideIds?.has(u.id));
  const { hasNextPage, endCursor } = data.users.pageInfo;
  return (
    <>
      {props.first && users.length === 0 && !hasNextPage && (
        <li className="f-people-status f-muted" role="status">
          Nobody found for “{props.search}”.
        </li>
      )}
      {users.map((user) => (
        <li key={user.id} className="f-person">
          {props.renderUser(user)}
        </li>
      ))}
      {props.last && hasNextPage && endCursor && (
        <li className="f-people-status">
          <button type="button" onClick={() => props.onMore(endCursor)}>
            Show more people
          </button>
        </li>
      )}
    </>
  );
}
