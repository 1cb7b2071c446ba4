import { errorMessage, isRetryable } from "../ui/errors";
import type { ChatMessage, PendingMessage } from "./messagesState";

/** What one send attempt gave. */
export type SendOutcome = { message: ChatMessage } | { error: unknown };

/** A message on its way: its `clientMessageId` stays the same for every attempt. */
export interface OutgoingMessage {
  sessionId: string;
  clientMessageId: string;
  body: string;
  replyToId: string | null;
  /** Members picked from the mention menu. */
  mentionIds?: readonly string[];
  /** Uploaded files to attach, in order. */
  attachmentIds?: readonly string[];
}

export interface SendDeps {
  /** One `sendMessage` call. */
  send(message: OutgoingMessage): Promise<SendOutcome>;
  /** The stored message arrived. */
  stored(sessionId: string, message: ChatMessage): void;
  /** The bubble's status changes. */
  status(
    sessionId: string,
    clientMessageId: string,
    status: PendingMessage["status"],
    error: string | null,
  ): void;
  /** False once the stored copy arrived some other way (the live event). */
  stillPending(sessionId: string, clientMessageId: string): boolean;
  sleep(ms: number): Promise<void>;
  /** Waits between automatic retries; their count is the number of retries. */
  retryDelays: readonly number[];
}

/** Automatic retries after a network failure: 1, 2, 4 and 8 seconds. */
export const DEFAULT_RETRY_DELAYS = [1_000, 2_000, 4_000, 8_000] as const;

/**
 * Sends one message until it is stored: a network failure (or `UNAVAILABLE`) retries
 * with the same `clientMessageId`, so the server stores it at most once; after the last
 * retry the bubble says "Not sent" (the person may retry). A refusal (`BAD_USER_INPUT`,
 * `FORBIDDEN`, `RATE_LIMITED`…) is final and shows why.
 */
export async function deliver(deps: SendDeps, message: OutgoingMessage): Promise<void> {
  const { sessionId, clientMessageId } = message;
  deps.status(sessionId, clientMessageId, "sending", null);
  for (let attempt = 0; ; attempt++) {
    const outcome = await deps.send(message);
    if ("message" in outcome) {
      deps.stored(sessionId, outcome.message);
      return;
    }
    if (!deps.stillPending(sessionId, clientMessageId)) return;
    if (!isRetryable(outcome.error)) {
      const code = refusalStatus(outcome.error);
      deps.status(sessionId, clientMessageId, code, errorMessage(outcome.error));
      return;
    }
    if (attempt >= deps.retryDelays.length) {
      deps.status(sessionId, clientMessageId, "failed", errorMessage(outcome.error));
      return;
    }
    await deps.sleep(deps.retryDelays[attempt]);
    if (!deps.stillPending(sessionId, clientMessageId)) return;
  }
}

/** A rate limit may pass: the person may retry it by hand. Other refusals are final. */
function refusalStatus(error: unknown): PendingMessage["status"] {
  const codes = (error as { graphQLErrors?: { extensions?: { code?: unknown } }[] })
    ?.graphQLErrors;
  return codes?.[0]?.extensions?.code === "RATE_LIMITED" ? "failed" : "refused";
}
