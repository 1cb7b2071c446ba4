import type { Viewer } from "../auth/AuthContext";

/** What a sign-in keeps between reloads: the token pair and who it belongs to. */
export interface StoredTokens {
  accessToken: string;
  /** Milliseconds since the epoch. */
  accessTokenExpiresAt: number;
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

/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS = 60_000;

/** The stored form of a freshly issued payload. */
export function tokensFromPayload(payload: AuthPayloadLike): StoredTokens {
  return {
    accessToken: payload.accessToken,
    accessTokenExpiresAt: Date.parse(payload.accessTokenExpiresAt),
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
  return tokens.accessTokenExpiresAt - now <= REFRESH_MARGIN_MS;
}
