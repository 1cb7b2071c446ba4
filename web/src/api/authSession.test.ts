import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AuthSession,
  SESSION_ENDED_MESSAGE,
  SignedOutError,
  type LockManagerLike,
  type RefreshResult,
} from "./authSession";
import { LEASE_KEY_PREFIX, LEASE_MS, storageLease } from "./storageLease";
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

/**
 * One localStorage shared by several simulated tabs: each tab gets a view whose writes
 * fire `storage` events in the other tabs (as a queued task, like browsers do).
 * `staleReads` makes a tab's first reads of a key miss the other tabs' writes (the race
 * of two tabs reading before either write is visible).
 */
function sharedStorage() {
  const shared = memoryStorage();
  const tabs: { listeners: Set<() => void> }[] = [];
  return {
    shared,
    tab(staleReads: Record<string, number> = {}) {
      const me = { listeners: new Set<() => void>() };
      tabs.push(me);
      const notifyOthers = () => {
        for (const other of tabs) {
          if (other !== me) for (const l of [...other.listeners]) setTimeout(l, 0);
        }
      };
      const storage: Storage = {
        get length() {
          return shared.length;
        },
        clear: () => shared.clear(),
        getItem: (k) => {
          if (staleReads[k] > 0) {
            staleReads[k]--;
            return null;
          }
          return shared.getItem(k);
        },
        key: (i) => shared.key(i),
        removeItem: (k) => {
          shared.removeItem(k);
          notifyOthers();
        },
        setItem: (k, v) => {
          shared.setItem(k, v);
          notifyOthers();
        },
      };
      const onStorage = (listener: () => void) => {
        me.listeners.add(listener);
        return () => void me.listeners.delete(listener);
      };
      return { storage, onStorage };
    },
  };
}

describe("refresh without Web Locks (localStorage lease)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("two tabs refreshing at once spend the refresh token once; the waiter uses the winner's tokens", async () => {
    vi.useFakeTimers();
    const { shared, tab: openTab } = sharedStorage();
    const spent = new Set<string>();
    let n = 1;
    const refresh = vi.fn(async (token: string): Promise<RefreshResult> => {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the network
      if (spent.has(token)) return { ok: false, fatal: true, error: new Error("reused") };
      spent.add(token);
      n++;
      return { ok: true, payload: payload(n) };
    });
    // No `locks`: what a page served over plain http gets.
    const tabA = openTab();
    const a = new AuthSession({ ...tabA, locks: null, refresh, now: () => NOW });
    a.signIn(payload(1));
    const tabB = openTab();
    const b = new AuthSession({ ...tabB, locks: null, refresh, now: () => NOW });
    const both = Promise.all([a.accessToken("access-1"), b.accessToken("access-1")]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await both).toEqual(["access-2", "access-2"]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(a.tokens?.refreshToken).toBe("refresh-2");
    expect(b.tokens?.refreshToken).toBe("refresh-2");
    expect(b.endMessage).toBeNull();
    expect(shared.getItem(LEASE_KEY_PREFIX + "messenger.refresh")).toBeNull(); // released
  });

  it("two tabs that both saw the lease free: the read-back lets only the later writer in", async () => {
    vi.useFakeTimers();
    const { tab: openTab } = sharedStorage();
    const key = LEASE_KEY_PREFIX + "x";
    const a = storageLease({ ...openTab(), owner: "a" });
    // B's first read misses A's write: both believe the lease is free and write it.
    const b = storageLease({ ...openTab({ [key]: 1 }), owner: "b" });
    const log: string[] = [];
    let inside = 0;
    const work = (who: string) => async () => {
      inside++;
      expect(inside).toBe(1); // never two holders at once
      log.push(`${who} in`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      log.push(`${who} out`);
      inside--;
      return who;
    };
    const both = Promise.all([a.request("x", work("a")), b.request("x", work("b"))]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await both).toEqual(["a", "b"]);
    expect(log).toEqual(["b in", "b out", "a in", "a out"]);
  });

  it("a lease left by a closed tab blocks only until it expires", async () => {
    vi.useFakeTimers();
    const { shared, tab: openTab } = sharedStorage();
    shared.setItem(LEASE_KEY_PREFIX + "x", JSON.stringify({ owner: "gone", expiresAt: Date.now() + LEASE_MS }));
    const lease = storageLease({ ...openTab(), owner: "a" });
    const ran = vi.fn(async () => "done");
    const result = lease.request("x", ran);
    await vi.advanceTimersByTimeAsync(LEASE_MS - 1_000);
    expect(ran).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await result).toBe("done");
  });
});
