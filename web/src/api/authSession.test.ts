import { describe, expect, it, vi } from "vitest";
import {
  AuthSession,
  SESSION_ENDED_MESSAGE,
  SignedOutError,
  type LockManagerLike,
  type RefreshResult,
} from "./authSession";
import { readTokens, TOKENS_KEY, type AuthPayloadLike } from "./tokens";

/** localStorage in memory (shared by the "tabs" of a test). */
function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (k) => map.get(k) ?? null,
    key: (i) => [...map.keys()][i] ?? null,
    removeItem: (k) => void map.delete(k),
    setItem: (k, v) => void map.set(k, v),
  };
}

/** An exclusive lock shared by the "tabs". */
function memoryLocks(): LockManagerLike {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback, callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

const NOW = Date.parse("2025-01-01T12:00:00Z");

function payload(n: number, expiresInMs = 900_000): AuthPayloadLike {
  return {
    accessToken: `access-${n}`,
    accessTokenExpiresAt: new Date(NOW + expiresInMs).toISOString(),
    refreshToken: `refresh-${n}`,
    refreshTokenExpiresAt: new Date(NOW + 86_400_000).toISOString(),
    user: { id: "u1", username: "ann", displayName: "Ann", avatar: null },
  };
}

function tab(storage: Storage, locks: LockManagerLike, refresh: (t: string) => Promise<RefreshResult>) {
  return new AuthSession({ storage, locks, refresh, now: () => NOW });
}

describe("AuthSession", () => {
  it("stays signed in across reloads (tokens in storage)", () => {
    const storage = memoryStorage();
    const first = tab(storage, memoryLocks(), vi.fn());
    first.signIn(payload(1));
    const reloaded = tab(storage, memoryLocks(), vi.fn());
    expect(reloaded.tokens?.viewer.displayName).toBe("Ann");
    expect(reloaded.tokens?.accessToken).toBe("access-1");
  });

  it("refreshes an expiring token before use, once for concurrent callers", async () => {
    const storage = memoryStorage();
    let n = 1;
    const refresh = vi.fn(async (token: string): Promise<RefreshResult> => {
      expect(token).toBe(`refresh-${n}`);
      n++;
      return { ok: true, payload: payload(n) };
    });
    const session = tab(storage, memoryLocks(), refresh);
    session.signIn(payload(1, 900_000));
    (session as unknown as { deps: { now: () => number } }).deps.now = () => NOW + 900_000 - 30_000; // inside the margin
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(tokens).toEqual(["access-2", "access-2", "access-2"]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(readTokens(storage)?.refreshToken).toBe("refresh-2");
  });

  it("two tabs: the second uses the first tab's rotated tokens instead of a spent refresh token", async () => {
    const storage = memoryStorage();
    const locks = memoryLocks();
    const spent = new Set<string>();
    let n = 1;
    const refresh = vi.fn(async (token: string): Promise<RefreshResult> => {
      if (spent.has(token)) return { ok: false, fatal: true, error: new Error("reused") };
      spent.add(token);
      n++;
      return { ok: true, payload: payload(n) };
    });
    const a = tab(storage, locks, refresh);
    a.signIn(payload(1));
    const b = tab(storage, locks, refresh);
    // Both saw access-1 refused at the same time.
    const [ta, tb] = await Promise.all([a.accessToken("access-1"), b.accessToken("access-1")]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(ta).toBe("access-2");
    expect(tb).toBe("access-2");
    expect(b.tokens).not.toBeNull();
  });

  it("a fatal refusal ends the sign-in with a message", async () => {
    const storage = memoryStorage();
    const session = tab(storage, memoryLocks(), async () => ({ ok: false, fatal: true, error: new Error("x") }));
    session.signIn(payload(1));
    const listener = vi.fn();
    session.subscribe(listener);
    await expect(session.accessToken("access-1")).rejects.toBeInstanceOf(SignedOutError);
    expect(session.tokens).toBeNull();
    expect(session.endMessage).toBe(SESSION_ENDED_MESSAGE);
    expect(storage.getItem(TOKENS_KEY)).toBeNull();
    expect(listener).toHaveBeenCalled();
  });

  it("a network failure keeps the sign-in", async () => {
    const storage = memoryStorage();
    const failure = new TypeError("Failed to fetch");
    const session = tab(storage, memoryLocks(), async () => ({ ok: false, fatal: false, error: failure }));
    session.signIn(payload(1));
    await expect(session.accessToken("access-1")).rejects.toBe(failure);
    expect(session.tokens?.refreshToken).toBe("refresh-1");
  });

  it("follows another tab signing out", () => {
    const storage = memoryStorage();
    const session = tab(storage, memoryLocks(), vi.fn());
    session.signIn(payload(1));
    session.adoptStored(null);
    expect(session.tokens).toBeNull();
    expect(session.endMessage).toMatch(/another tab/);
  });

  it("two tabs with short-lived tokens (20 s) keep working and refresh about once a lifetime", async () => {
    const storage = memoryStorage();
    const locks = memoryLocks();
    let clock = NOW;
    const spent = new Set<string>();
    let n = 1;
    const issue = (k: number): AuthPayloadLike => ({
      ...payload(k),
      accessTokenExpiresAt: new Date(clock + 20_000).toISOString(),
    });
    const refresh = vi.fn(async (token: string): Promise<RefreshResult> => {
      if (spent.has(token)) return { ok: false, fatal: true, error: new Error("reused") };
      spent.add(token);
      n++;
      return { ok: true, payload: issue(n) };
    });
    const open = () => new AuthSession({ storage, locks, refresh, now: () => clock });
    const a = open();
    a.signIn(issue(1));
    const b = open();
    for (let second = 0; second < 120; second++) {
      clock = NOW + second * 1_000;
      const [ta, tb] = await Promise.all([a.accessToken(), b.accessToken()]);
      for (const token of [ta, tb]) {
        const k = Number(token.split("-")[1]);
        expect(k).toBeGreaterThan(0);
      }
      // Neither tab holds an expired token.
      for (const t of [a.tokens, b.tokens]) expect(t!.accessTokenExpiresAt).toBeGreaterThan(clock);
    }
    expect(a.tokens).not.toBeNull();
    expect(b.tokens).not.toBeNull();
    // About one refresh per 15 s (the token is refreshed in its last quarter), not per call.
    expect(refresh.mock.calls.length).toBeLessThanOrEqual(10);
  });
});
