/** Where the event stream remembers its last cursor. */
export interface CursorStore {
  load(): string | null;
  save(cursor: string): void;
  clear(): void;
}

/** A cursor kept in `storage` (sessionStorage: per tab, survives a reload) per user. */
export function storageCursor(storage: Storage, userId: string): CursorStore {
  const key = `messenger.cursor.${userId}`;
  return {
    load: () => storage.getItem(key),
    save: (cursor) => storage.setItem(key, cursor),
    clear: () => storage.removeItem(key),
  };
}

/** A cursor kept in memory only (tests, or storage unavailable). */
export function memoryCursor(initial: string | null = null): CursorStore {
  let value = initial;
  return {
    load: () => value,
    save: (cursor) => {
      value = cursor;
    },
    clear: () => {
      value = null;
    },
  };
}
