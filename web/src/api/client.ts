import { Client, cacheExchange, fetchExchange } from "@urql/core";
import { authExchange } from "@urql/exchange-auth";
import { RefreshTokenMutation } from "../auth/operations";
import { errorCode } from "../ui/errors";
import type { AuthSession, RefreshResult } from "./authSession";

/** Where the API lives: same origin (the dev server proxies it). */
export const GRAPHQL_URL = "/graphql";

/** A client without credentials, for signing in, registering, refreshing and signing out. */
export function createPublicClient(): Client {
  return new Client({
    url: GRAPHQL_URL,
    exchanges: [fetchExchange],
    preferGetMethod: false,
    requestPolicy: "network-only",
  });
}

/** The `refresh` dependency of AuthSession: the `refreshToken` mutation over `client`. */
export function refreshOver(client: Client) {
  return async (refreshToken: string): Promise<RefreshResult> => {
    const result = await client.mutation(RefreshTokenMutation, { refreshToken }).toPromise();
    if (result.data) return { ok: true, payload: result.data.refreshToken };
    const code = errorCode(result.error);
    // A spent, expired or revoked refresh token: the sign-in is over.
    const fatal = code === "UNAUTHENTICATED" || code === "BAD_USER_INPUT";
    return { ok: false, fatal, error: result.error };
  };
}

/**
 * The signed-in client: every operation carries `Authorization: Bearer <access token>`
 * (multipart uploads included: @urql/core sends a File variable as a GraphQL multipart
 * request through the same fetch options). The token is refreshed before it expires and
 * when an answer says UNAUTHENTICATED (then the operation runs once more).
 */
export function createApiClient(session: AuthSession): Client {
  return new Client({
    url: GRAPHQL_URL,
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          const tokens = session.tokens;
          return tokens
            ? utils.appendHeaders(operation, { Authorization: `Bearer ${tokens.accessToken}` })
            : operation;
        },
        willAuthError() {
          return session.needsRefresh();
        },
        didAuthError(error) {
          return error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
        },
        async refreshAuth() {
          const tokens = session.tokens;
          if (tokens) await session.refresh(tokens.accessToken);
        },
      })),
      fetchExchange,
    ],
  });
}
