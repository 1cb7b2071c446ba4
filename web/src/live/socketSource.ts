import { stringifyDocument } from "@urql/core";
import { createClient } from "graphql-ws";
import type { AuthSession } from "../api/authSession";
import { closeCode, type EventSource } from "./eventStream";
import { EventsSubscriptionDocument, type LiveEvent } from "./operations";

/** The socket's address on this origin. */
function socketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}/graphql/ws`;
}

const QUERY = stringifyDocument(EventsSubscriptionDocument);

/**
 * An EventSource over graphql-ws: a new socket per attempt, with graphql-ws's own retry
 * off (EventStream resubscribes with the newest cursor). `connection_init` carries a
 * fresh access token, refreshed first when it is expiring or when the server closed the
 * last socket with 4403 (token expired or revoked).
 */
export function socketSource(session: AuthSession): EventSource {
  let rejected: string | undefined;
  return (after, handlers) => {
    let used: string | undefined;
    const client = createClient({
      url: socketUrl(),
      lazy: true,
      retryAttempts: 0,
      keepAlive: 10_000,
      connectionParams: async () => {
        used = await session.accessToken(rejected);
        rejected = undefined;
        return { authorization: `Bearer ${used}` };
      },
      on: {
        connected: () => handlers.connected(),
        closed: (event) => {
          if (closeCode(event) === 4403) rejected = used;
        },
      },
    });
    const unsubscribe = client.subscribe<{ events: LiveEvent }>(
      { query: QUERY, variables: { after } },
      {
        next: (value) => handlers.next(value),
        error: (error) => handlers.error(error),
        complete: () => handlers.complete(),
      },
    );
    return () => {
      unsubscribe();
      // Disposing waits for a connection attempt still under way, which rejects when
      // the attempt failed (signed out meanwhile): nothing is left to do then.
      Promise.resolve(client.dispose()).catch(() => undefined);
    };
  };
}
