import type { LockManagerLike } from "./authSession";

/**
 * A cross-tab lock for browsers without Web Locks (`navigator.locks` exists only in secure
 * contexts: a page served over plain http to a LAN address has none). It is a short lease
 * in localStorage: `{ owner, expiresAt }` under `messenger.lease.<name>`.
 *
 * To take it a tab checks that no other tab holds an unexpired lease, writes its own,
 * waits SETTLE_MS and reads it back: when two tabs wrote at once the later write won, and
 * the tab that finds the other's id backs off. The holder renews the lease while its
 * callback runs (a slow refresh outlives no lease) and removes it afterwards; a tab that
 * closed while holding it blocks the others until it expires (LEASE_MS).
 *
 * Waiting tabs wake when another tab changes storage (the `storage` event: the lease went,
 * or the winner stored new tokens) or at the latest when the lease would expire, then try
 * again. Their callback (AuthSession's refresh) re-reads the stored tokens first, so a
 * waiter uses the tokens the winner stored instead of spending the same refresh token.
 *
 * Best effort (localStorage has no compare-and-set), but it closes the ordinary race of
 * two tabs refreshing at the same moment.
 */
export interface LeaseOptions {
  storage: Storage;
  /** Calls `listener` when another tab changes storage (the window's `storage` event);
   *  returns the unsubscribe. Without it waiters poll. */
  onStorage?: (listener: () => void) => () => void;
  /** This tab's id (random by default). */
  owner?: string;
  now?: () => number;
}

/** How long a lease lasts unless renewed. */
export const LEASE_MS = 10_000;
/** How often the holder renews it. */
export const LEASE_RENEW_MS = 3_000;
/** Delay between writing the lease and reading it back. */
export const LEASE_SETTLE_MS = 50;
/** Longest wait between two attempts when no storage event comes. */
export const LEASE_POLL_MS = 1_000;

export const LEASE_KEY_PREFIX = "messenger.lease.";

interface Lease {
  owner: string;
  expiresAt: number;
}

function readLease(storage: Storage, key: string): Lease | null {
  try {
    const value = JSON.parse(storage.getItem(key) ?? "null") as Partial<Lease> | null;
    if (value && typeof value.owner === "string" && typeof value.expiresAt === "number") {
      return value as Lease;
    }
  } catch {
    // A corrupt lease counts as none.
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A LockManagerLike over a localStorage lease (see above). */
export function storageLease(options: LeaseOptions): LockManagerLike {
  const { storage } = options;
  const owner = options.owner ?? Math.random().toString(36).slice(2) + Date.now().toString(36);
  const now = options.now ?? Date.now;
  // Requests of this tab queue here (storage events do not reach the tab that wrote).
  let tail: Promise<unknown> = Promise.resolve();

  /** Resolves on the next storage change by another tab, or after `ms`. */
  const changeOrTimeout = (ms: number) =>
    new Promise<void>((resolve) => {
      let unsubscribe = () => {};
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
      if (options.onStorage) unsubscribe = options.onStorage(done);
    });

  async function acquire(key: string): Promise<void> {
    for (;;) {
      const held = readLease(storage, key);
      const left = held && held.owner !== owner ? held.expiresAt - now() : 0;
      if (left > 0) {
        await changeOrTimeout(Math.min(left + 1, LEASE_POLL_MS));
        continue;
      }
      storage.setItem(key, JSON.stringify({ owner, expiresAt: now() + LEASE_MS }));
      await sleep(LEASE_SETTLE_MS);
      if (readLease(storage, key)?.owner === owner) return;
      // Another tab wrote after us: it has the lease.
    }
  }

  async function run<T>(key: string, callback: () => Promise<T>): Promise<T> {
    await acquire(key);
    const renew = setInterval(() => {
      if (readLease(storage, key)?.owner === owner) {
        storage.setItem(key, JSON.stringify({ owner, expiresAt: now() + LEASE_MS }));
      }
    }, LEASE_RENEW_MS);
    try {
      return await callback();
    } finally {
      clearInterval(renew);
      if (readLease(storage, key)?.owner === owner) storage.removeItem(key);
    }
  }

  return {
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const result = tail.then(() => run(LEASE_KEY_PREFIX + name, callback));
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
