/** One GraphQL error as the API sends it. */
interface ApiError {
  message: string;
  extensions?: Record<string, unknown>;
}

/** Duck type of urql's CombinedError (kept structural so tests need no urql). */
interface CombinedLike {
  graphQLErrors: ApiError[];
  networkError?: Error;
  response?: { status?: number };
}

function isCombined(error: unknown): error is CombinedLike {
  return (
    typeof error === "object" &&
    error !== null &&
    Array.isArray((error as CombinedLike).graphQLErrors)
  );
}

function firstApiError(error: unknown): ApiError | null {
  if (isCombined(error)) return error.graphQLErrors[0] ?? null;
  if (Array.isArray(error)) return (error[0] as ApiError | undefined) ?? null;
  if (typeof error === "object" && error !== null && "extensions" in error) {
    return error as ApiError;
  }
  return null;
}

/** The API's `extensions.code` of an error, or null (network failures have none). */
export function errorCode(error: unknown): string | null {
  const code = firstApiError(error)?.extensions?.code;
  return typeof code === "string" ? code : null;
}

/** True when the request did not get a GraphQL answer (offline, server down, 5xx), or
 *  the server says the database is briefly unreachable (`UNAVAILABLE`): worth sending
 *  again at once. `RATE_LIMITED` is not: it wants a wait the person should see. */
export function isRetryable(error: unknown): boolean {
  if (isCombined(error) && error.networkError && error.graphQLErrors.length === 0) return true;
  if (error instanceof TypeError) return true; // fetch's "Failed to fetch"
  const api = firstApiError(error);
  return api?.extensions?.code === "UNAVAILABLE";
}

function retryAfterText(error: unknown): string {
  const seconds = Number(firstApiError(error)?.extensions?.retryAfter);
  if (!Number.isFinite(seconds) || seconds <= 0) return "Please wait a moment and try again.";
  if (seconds < 90) return `Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`;
  const minutes = Math.ceil(seconds / 60);
  return `Try again in ${minutes} minutes.`;
}

/** A sentence for a person, from any error an operation gave (urql's CombinedError,
 *  a network failure, a GraphQL error with `extensions.code`). */
export function errorMessage(error: unknown): string {
  const api = firstApiError(error);
  const code = errorCode(error);
  const detail = api?.message?.trim();
  switch (code) {
    case "UNAUTHENTICATED":
      return detail && /password|username/i.test(detail)
        ? "Wrong username or password."
        : "You are not signed in, or your session has ended. Please sign in again.";
    case "FORBIDDEN":
      // The server says what is not allowed ("you cannot send messages to this user").
      return detail ? sentence(detail) : "You are not allowed to do that.";
    case "NOT_FOUND":
      return "That was not found. It may have been removed, or you are no longer a member.";
    case "BAD_USER_INPUT":
      return detail ? sentence(detail) : "Some of what you entered is not valid.";
    case "CONFLICT":
      return detail ? sentence(detail) : "That conflicts with something that already exists.";
    case "RATE_LIMITED":
      return `Too many attempts. ${retryAfterText(error)}`;
    case "PAYLOAD_TOO_LARGE":
      return "That file is too large.";
    case "UNAVAILABLE":
      return "The server is temporarily unavailable. Try again in a moment.";
    case "INTERNAL":
      return "Something went wrong on the server. Try again later.";
    case "GRAPHQL_PARSE_FAILED":
    case "GRAPHQL_VALIDATION_FAILED":
      return "The app sent a request the server does not understand. Reload the page.";
    default:
      break;
  }
  if (isCombined(error) && error.networkError) {
    if (error.response?.status === 413) return "That file is too large.";
    return typeof navigator !== "undefined" && navigator.onLine === false
      ? "You are offline. Check your connection and try again."
      : "Could not reach the server. Check your connection and try again.";
  }
  if (error instanceof TypeError) return "Could not reach the server. Check your connection and try again.";
  if (detail) return sentence(detail);
  if (error instanceof Error && error.message) return sentence(error.message);
  return "Something went wrong.";
}

function sentence(text: string): string {
  const trimmed = text.replace(/^\[(GraphQL|Network)\]\s*/, "");
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
