import type { Viewer } from "../auth/AuthContext";
import {
  accessTokenExpiring,
  parseTokens,
  readTokens,
  tokensFromPayload,
  writeTokens,
  type AuthPayloadLike,
  type StoredTokens,
} from "./tokens";
import { storageLease } from "./storageLease";

/** How exchanging a refresh token went. `fatal`: the sign-in is over (token reused,
 *  expired or revoked); otherwise a transient failure (network, rate limit). */
export type RefreshResult =
  | { ok: true; payload: AuthPayloadLike }
  | { ok: false; fatal: boolean; error: unknown };

/** The part of the Web Locks API the session uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** Thrown when an operation needs a sign-in and there is none (any more). */
export class SignedOutError extends Error {
  constructor() {
    super("Signed out.");
    this.name = "SignedOutError";
  }
}

/** Shown on the sign-in screen when the sign-in ended by itself. */
export const SESSION_ENDED_MESSAGE = "Your session has ended. Please sign in again.";
/** Shown when another tab signed out. */
export const SIGNED_OUT_ELSEWHERE_MESSAGE = "You were signed out in another tab.";

const LOCK_NAME = "messenger.refresh";

interface Deps {
  storage: Storage;
  /** Exchanges a refresh token (`refreshToken` mutation). */
  refresh(refreshToken: string): Promise<RefreshResult>;
  /** `navigator.locks` when the browser has it: serialises refreshes across tabs. Without
   *  it (plain http to a LAN address is no secure context) a localStorage lease does. */
  locks?: LockManagerLike | null;
  /** Reports storage changes made by other tabs (the window's `storage` event), which
   *  wake a tab waiting for the lease. */
  onStorage?: (listener: () => void) => () => void;
  now?: () => number;
}

/**
 * The sign-in of this browser: tokens in localStorage, shared by every tab. A refresh
 * token works once, so refreshes are serialised (within the tab by one promise, across
 * tabs by a Web Lock or, without one, a localStorage lease: see storageLease) and the
 * stored tokens are re-read inside the lock: when another
 * tab already rotated them, its tokens are used instead of presenting a spent one.
 */
export class AuthSession {
  private current: StoredTokens | null;
  private inflight: Promise<StoredTokens> | null = null;
  private readonly locks: LockManagerLike;
  private readonly listeners = new Set<() => void>();
  /** Why the last sign-in ended, for the sign-in screen (null after a sign-in). */
  endMessage: string | null = null;

  constructor(private readonly deps: Deps) {
    this.current = readTokens(deps.storage);
    this.locks =
      deps.locks ?? storageLease({ storage: deps.storage, onStorage: deps.onStorage, now: () => this.now() });
  }

  /** The tokens in use, or null when signed out. */
  get tokens(): StoredTokens | null {
    return this.current;
  }

  /** Calls `listener` whenever the sign-in or the viewer changes. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Starts a sign-in from a `login`/`register` payload. */
  signIn(payload: AuthPayloadLike): void {
    this.endMessage = null;
    this.set(tokensFromPayload(payload, this.now()));
  }

  /** Ends the sign-in locally (storage cleared in every tab) with an optional message. */
  end(message: string | null): void {
    this.endMessage = message;
    this.set(null);
  }

  /** Replaces the stored viewer (after a profile change). */
  setViewer(viewer: Viewer): void {
    if (this.current) this.set({ ...this.current, viewer });
  }

  /** Follows a change another tab made to the stored tokens (a `storage` event). */
  adoptStored(raw: string | null): void {
    const stored = parseTokens(raw);
    if (!stored) {
      if (this.current) {
        this.endMessage = SIGNED_OUT_ELSEWHERE_MESSAGE;
        this.current = null;
        this.notify();
      }
      return;
    }
    const userChanged = this.current?.viewer.id !== stored.viewer.id;
    this.current = stored;
    if (userChanged) this.endMessage = null;
    this.notify();
  }

  /** True when the access token should be refreshed before use. */
  needsRefresh(): boolean {
    return !!this.current && accessTokenExpiring(this.current, this.now());
  }

  /**
   * A usable access token, refreshed first when it is expiring or when the server just
   * rejected it (`rejected`). Throws SignedOutError when the sign-in is over.
   */
  async accessToken(rejected?: string): Promise<string> {
    const tokens = this.current;
    if (!tokens) throw new SignedOutError();
    if (tokens.accessToken === rejected || accessTokenExpiring(tokens, this.now())) {
      return (await this.refresh(tokens.accessToken)).accessToken;
    }
    return tokens.accessToken;
  }

  /**
   * Rotates the tokens because `stale` (an access token) is expiring or was refused.
   * One refresh at a time per tab and per browser (Web Lock or storage lease). A fatal refusal
   * ends the sign-in; a transient one throws and keeps the tokens.
   */
  refresh(stale: string): Promise<StoredTokens> {
    if (!this.inflight) {
      const run = () => this.refreshLocked(stale);
      this.inflight = this.locks.request(LOCK_NAME, run).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async refreshLocked(stale: string): Promise<StoredTokens> {
    const stored = readTokens(this.deps.storage);
    if (!stored || (this.current && stored.viewer.id !== this.current.viewer.id)) {
      // Signed out (or in as someone else) in another tab meanwhile.
      this.adoptStored(stored ? JSON.stringify(stored) : null);
      throw new SignedOutError();
    }
    if (stored.accessToken !== stale && !accessTokenExpiring(stored, this.now())) {
      // Another tab rotated them already: its refresh token is the live one.
      this.current = stored;
      return stored;
    }
    const result = await this.deps.refresh(stored.refreshToken);
    if (result.ok) {
      const tokens = tokensFromPayload(result.payload, this.now());
      this.set(tokens);
      return tokens;
    }
    if (result.fatal) {
      this.end(SESSION_ENDED_MESSAGE);
      throw new SignedOutError();
    }
    throw result.error;
  }

  private set(tokens: StoredTokens | null): void {
    this.current = tokens;
    writeTokens(this.deps.storage, tokens);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
