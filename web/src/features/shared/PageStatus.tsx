import { errorMessage } from "../../ui/errors";

/** The list item a paged list shows while a page has no data: the error with "Try again",
 *  or a polite "Loading…" (`busyText`) while fetching. */
export function PageStatus(props: {
  error: unknown;
  fetching: boolean;
  busyText: string;
  onRetry(): void;
}) {
  if (props.error) {
    return (
      <li className="f-people-status">
        <p role="alert" className="f-error">
          {errorMessage(props.error)}
        </p>
        <button type="button" onClick={props.onRetry}>
          Try again
        </button>
      </li>
    );
  }
  return (
    <li className="f-people-status f-muted" aria-live="polite">
      {props.fetching ? props.busyText : ""}
    </li>
  );
}
