import type { CursorStore } from "./cursorStore";
import type { ConnectionStatus } from "./chatState";
import type { LiveEvent } from "./operations";

/** What one subscription attempt reports. */
export interface SourceHandlers {
  /** The socket is acknowledged (the subscription is live). */
  connected(): void;
  next(result: { data?: { events: LiveEvent } | null; errors?: readonly unknown[] }): void;
  /** The socket closed or the server refused the subscription. */
  error(error: unknown): void;
  /** The server ended the stream (after LAGGED). */
  complete(): void;
}

/** Opens `subscription events(after:)` on a new socket; the result closes it. */
export type EventSource = (after: string | null, handlers: SourceHandlers) => () => void;

export interface EventStreamOptions {
  source: EventSource;
  /** Where the stream stands now (`eventsCursor`): read whenever there is no cursor to
   *  subscribe from, so that the stream starts before anything the client then loads. */
  head(): Promise<string>;
  cursor: CursorStore;
  /** Called for every event but LAGGED and RESYNC, in order, before its cursor is saved. */
  onEvent(event: LiveEvent): void;
  onStatus(status: ConnectionStatus): void;
  /** The cursor was too old: reload state with queries (the stream goes on live). */
  onResync(): void;
  /** Wait before attempt `n` (0-based) after a failure. */
  backoff?: (attempt: number) => number;
  /** Failed attempts after which the indicator says "Offline" instead of "Reconnecting…". */
  offlineAfter?: number;
  /** How long an acknowledged socket must stay up before failures are forgotten. */
  stableAfterMs?: number;
}

/** Default of `stableAfterMs`. */
export const STABLE_AFTER_MS = 5_000;

/** 0 s, then 0.5, 1, 2, 4 s, then every 5 s, with up to 20% jitter. */
export function defaultBackoff(attempt: number): number {
  if (attempt === 0) return 0;
  const base = Math.min(5_000, 500 * 2 ** (attempt - 1));
  return Math.round(base * (1 + Math.random() * 0.2));
}

/**
 * The live event stream with resume. graphql-ws's own retry would resubscribe with the
 * variables of the first subscribe (a stale cursor), so each attempt here is a fresh
 * subscription from the newest saved cursor: after a dropped socket, a server restart or
 * LAGGED, the server replays exactly what was missed. The cursor is saved only after its
 * event was applied, so nothing is skipped; a replayed duplicate is harmless to the
 * reducers (they dedupe by message id).
 *
 * It never subscribes without a cursor: "live from now" would start whenever the socket
 * got there, and whatever happened between the client's queries and that moment would be
 * lost. With none saved (a new tab, or one the server refused), it reads the head first,
 * and `ready()` tells the loaders when they may query.
 */
export class EventStream {
  private close: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Forgets the failures once a connection has stayed up a while. */
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private generation = 0;
  private stopped = true;
  /** A refused cursor was dropped: reload state once the new head is read. */
  private resyncAtHead = false;
  private readonly hasCursor: Promise<void>;
  private cursorFound!: () => void;

  constructor(private readonly options: EventStreamOptions) {
    this.hasCursor = new Promise((resolve) => (this.cursorFound = resolve));
  }

  /** Opens the stream (from the saved cursor, else from the head). */
  start(): void {
    this.stopped = false;
    this.options.onStatus("connecting");
    this.open();
  }

  /** Resolves once the stream has a cursor: what is loaded from then on cannot miss an
   *  event, since the stream replays everything after it. */
  ready(): Promise<void> {
    return this.hasCursor;
  }

  /** Closes the stream for good (sign-out, unmount). */
  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clearStable();
    this.close?.();
    this.close = null;
  }

  /** Skips the wait of a pending reconnect (the browser came back online). */
  reconnectNow(): void {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.open();
  }

  private open(): void {
    this.close?.();
    this.close = null;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    const after = this.options.cursor.load();
    if (after === null) {
      this.options.head().then(
        (head) => {
          if (!current()) return;
          this.options.cursor.save(head);
          this.open();
        },
        (error: unknown) => {
          if (current()) this.fail(error);
        },
      );
      return;
    }
    this.cursorFound();
    if (this.resyncAtHead) {
      this.resyncAtHead = false;
      this.options.onResync();
    }
    this.close = this.options.source(after, {
      connected: () => {
        if (!current()) return;
        // Not `failures = 0` yet: a socket acknowledged and then refused at once (an
        // unreadable cursor, a server failing right after the ack) would otherwise
        // reconnect without any wait, in a tight loop.
        this.clearStable();
        this.stableTimer = setTimeout(() => {
          this.stableTimer = null;
          if (current()) this.failures = 0;
        }, this.options.stableAfterMs ?? STABLE_AFTER_MS);
        this.options.onStatus("online");
      },
      next: (result) => {
        if (!current()) return;
        if (result.errors?.length) return this.fail(result.errors);
        const event = result.data?.events;
        if (event) {
          this.failures = 0;
          this.receive(event);
        }
      },
      error: (error) => {
        if (current()) this.fail(error);
      },
      complete: () => {
        if (current()) this.open();
      },
    });
  }

  private receive(event: LiveEvent): void {
    const { cursor } = this.options;
    switch (event.kind) {
      case "LAGGED":
        // The server ends this stream; go on from where it says.
        cursor.save(event.cursor);
        this.open();
        return;
      case "RESYNC":
        // The stream continues live from this cursor; state must be reloaded.
        cursor.save(event.cursor);
        this.options.onResync();
        return;
      default:
        this.options.onEvent(event);
        cursor.save(event.cursor);
    }
  }

  private clearStable(): void {
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = null;
  }

  private fail(error: unknown): void {
    this.close?.();
    this.close = null;
    this.generation++;
    this.clearStable();
    if (refusedCursor(error) && this.options.cursor.load() !== null) {
      // The server cannot read the saved cursor (another server version, a corrupt
      // entry): retrying it would fail forever. Start from the head, then reload state.
      this.options.cursor.clear();
      this.resyncAtHead = true;
    }
    const attempt = this.failures++;
    const quiet = attempt === 0 && closeCode(error) === 4403; // token expired: just reconnect
    if (!quiet) {
      const offline =
        (typeof navigator !== "undefined" && navigator.onLine === false) ||
        attempt >= (this.options.offlineAfter ?? 4);
      this.options.onStatus(offline ? "offline" : "reconnecting");
    }
    const wait = (this.options.backoff ?? defaultBackoff)(attempt);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, wait);
  }
}

/** True when the subscription was refused for its arguments (`BAD_USER_INPUT`): the
 *  only argument is the cursor. */
export function refusedCursor(error: unknown): boolean {
  const errors = Array.isArray(error) ? error : [error];
  return errors.some(
    (e) =>
      typeof e === "object" &&
      e !== null &&
      (e as { extensions?: { code?: unknown } }).extensions?.code === "BAD_USER_INPUT",
  );
}

/** The WebSocket close code of an error graphql-ws reported, if it is a close. */
export function closeCode(error: unknown): number | null {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "number" ? code : null;
  }
  return null;
}
