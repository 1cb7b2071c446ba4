import type { Viewer } from "../auth/AuthContext";

/** What a sign-in keeps between reloads: the token pair and who it belongs to. */
export interface StoredTokens {
  accessToken: string;
  /** Milliseconds since the epoch. */
  accessTokenExpiresAt: number;
  /** When this tab received the access token (ms since the epoch; absent in entries
   *  written by older versions). With the expiry it gives the token's lifetime. */
  accessTokenReceivedAt?: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
  viewer: Viewer;
}

/** The shape of the API's `AuthPayload` the client reads. */
export interface AuthPayloadLike {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: {
    id: string;
    username: string;
    displayName: string;
    avatar: { url: string } | null;
  };
}

/** The localStorage key holding the tokens (shared by every tab of the origin). */
export const TOKENS_KEY = "messenger.auth";

/** Refresh this long before the access token expires (at most a quarter of its
 *  lifetime: a server with short-lived tokens must not get a refresh per request). */
export const REFRESH_MARGIN_MS = 60_000;

/** The stored form of a freshly issued payload, received at `now`. */
export function tokensFromPayload(payload: AuthPayloadLike, now: number = Date.now()): StoredTokens {
  return {
    accessToken: payload.accessToken,
    accessTokenExpiresAt: Date.parse(payload.accessTokenExpiresAt),
    accessTokenReceivedAt: now,
    refreshToken: payload.refreshToken,
    refreshTokenExpiresAt: Date.parse(payload.refreshTokenExpiresAt),
    viewer: {
      id: payload.user.id,
      username: payload.user.username,
      displayName: payload.user.displayName,
      avatarUrl: payload.user.avatar?.url ?? null,
    },
  };
}

/** Reads the tokens from storage; null when absent or unreadable. */
export function readTokens(storage: Storage): StoredTokens | null {
  return parseTokens(storage.getItem(TOKENS_KEY));
}

/** Parses a stored value (also what a `storage` event carries). */
export function parseTokens(raw: string | null): StoredTokens | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<StoredTokens>;
    if (
      typeof value.accessToken === "string" &&
      typeof value.refreshToken === "string" &&
      typeof value.accessTokenExpiresAt === "number" &&
      typeof value.refreshTokenExpiresAt === "number" &&
      value.viewer &&
      typeof value.viewer.id === "string"
    ) {
      return value as StoredTokens;
    }
  } catch {
    // A corrupt entry counts as signed out.
  }
  return null;
}

/** Writes (or with null, removes) the tokens. */
export function writeTokens(storage: Storage, tokens: StoredTokens | null): void {
  if (tokens) storage.setItem(TOKENS_KEY, JSON.stringify(tokens));
  else storage.removeItem(TOKENS_KEY);
}

/** True when the access token is expired or about to be. */
export function accessTokenExpiring(tokens: StoredTokens, now: number): boolean {
  return tokens.accessTokenExpiresAt - now <= refreshMargin(tokens);
}

/** How long before its expiry an access token is refreshed. */
export function refreshMargin(tokens: StoredTokens): number {
  const received = tokens.accessTokenReceivedAt;
  if (typeof received !== "number" || received >= tokens.accessTokenExpiresAt) return REFRESH_MARGIN_MS;
  return Math.min(REFRESH_MARGIN_MS, (tokens.accessTokenExpiresAt - received) / 4);
}
