import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConnectionStatus } from "./chatState";
import { memoryCursor } from "./cursorStore";
import { EventStream, type SourceHandlers } from "./eventStream";
import type { LiveEvent } from "./operations";
import { event, message } from "./testing";

/** A fake socket: records every subscription's `after` and lets the test drive it. */
function fakeSource() {
  const attempts: { after: string | null; handlers: SourceHandlers; closed: boolean }[] = [];
  const source = (after: string | null, handlers: SourceHandlers) => {
    const attempt = { after, handlers, closed: false };
    attempts.push(attempt);
    return () => {
      attempt.closed = true;
    };
  };
  const last = () => attempts[attempts.length - 1];
  const send = (e: LiveEvent) => last().handlers.next({ data: { events: e } });
  return { source, attempts, last, send };
}

function created(seq: number, cursor: string): LiveEvent {
  return { ...event("MESSAGE_CREATED", "s", { message: message(seq) }), cursor };
}

describe("EventStream", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(initialCursor: string | null = null) {
    const fake = fakeSource();
    const cursor = memoryCursor(initialCursor);
    const received: LiveEvent[] = [];
    const statuses: ConnectionStatus[] = [];
    const onResync = vi.fn();
    const stream = new EventStream({
      source: fake.source,
      cursor,
      onEvent: (e) => received.push(e),
      onStatus: (s) => statuses.push(s),
      onResync,
      backoff: (attempt) => 1_000 * (attempt + 1),
    });
    stream.start();
    return { fake, cursor, received, statuses, onResync, stream };
  }

  it("resumes from the stored cursor after a reload", () => {
    const { fake } = setup("c-saved");
    expect(fake.attempts[0].after).toBe("c-saved");
  });

  it("saves each event's cursor and resubscribes with the newest one after a drop", () => {
    const { fake, cursor, received, statuses } = setup();
    expect(fake.last().after).toBeNull();
    fake.last().handlers.connected();
    fake.send(created(1, "c1"));
    fake.send(created(2, "c2"));
    expect(cursor.load()).toBe("c2");
    fake.last().handlers.error({ code: 1006, reason: "" });
    expect(statuses).toEqual(["connecting", "online", "reconnecting"]);
    expect(fake.attempts).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(fake.attempts).toHaveLength(2);
    expect(fake.attempts[0].closed).toBe(true);
    expect(fake.last().after).toBe("c2");
    fake.last().handlers.connected();
    expect(statuses[statuses.length - 1]).toBe("online");
    expect(received.map((e) => e.cursor)).toEqual(["c1", "c2"]);
  });

  it("backs off and says Offline after repeated failures, then recovers", () => {
    const { fake, statuses } = setup();
    for (let i = 0; i < 5; i++) {
      fake.last().handlers.error(new Error("down"));
      vi.advanceTimersByTime(1_000 * (i + 1));
    }
    expect(fake.attempts).toHaveLength(6);
    expect(statuses).toContain("offline");
    fake.last().handlers.connected();
    expect(statuses[statuses.length - 1]).toBe("online");
  });

  it("LAGGED: resubscribes at once from the cursor it carries, without applying it", () => {
    const { fake, received, cursor } = setup();
    fake.send(created(1, "c1"));
    fake.send({ ...event("LAGGED", null), cursor: "c-lag" });
    expect(cursor.load()).toBe("c-lag");
    expect(fake.attempts).toHaveLength(2);
    expect(fake.last().after).toBe("c-lag");
    // The old stream's completion is not mistaken for the new one's.
    fake.attempts[0].handlers.complete();
    expect(fake.attempts).toHaveLength(2);
    expect(received).toHaveLength(1);
  });

  it("RESYNC: asks for a reload and keeps the live stream going from its cursor", () => {
    const { fake, onResync, cursor, received } = setup("c-old");
    fake.send({ ...event("RESYNC", null), cursor: "c-head" });
    expect(onResync).toHaveBeenCalledTimes(1);
    expect(cursor.load()).toBe("c-head");
    expect(fake.attempts).toHaveLength(1);
    fake.send(created(9, "c9"));
    expect(received.map((e) => e.cursor)).toEqual(["c9"]);
  });

  it("an expired token (4403) reconnects quietly the first time", () => {
    const { fake, statuses } = setup();
    fake.last().handlers.connected();
    fake.last().handlers.error({ code: 4403, reason: "token expired" });
    expect(statuses[statuses.length - 1]).toBe("online");
    vi.advanceTimersByTime(1_000);
    expect(fake.attempts).toHaveLength(2);
  });

  it("ignores late events of a closed subscription and stops for good", () => {
    const { fake, received, stream } = setup();
    const first = fake.last();
    first.handlers.error(new Error("x"));
    first.handlers.next({ data: { events: created(1, "c1") } });
    expect(received).toHaveLength(0);
    stream.stop();
    vi.advanceTimersByTime(60_000);
    expect(fake.attempts).toHaveLength(1);
  });

  it("a socket refused right after its ack backs off instead of reconnecting at once", () => {
    const { fake } = setup();
    fake.last().handlers.connected();
    fake.last().handlers.error([{ message: "down", extensions: { code: "INTERNAL" } }]);
    vi.advanceTimersByTime(1_000);
    expect(fake.attempts).toHaveLength(2);
    // Acknowledged, then refused again at once: the wait grows (2 s), it is not reset.
    fake.last().handlers.connected();
    fake.last().handlers.error([{ message: "down", extensions: { code: "INTERNAL" } }]);
    vi.advanceTimersByTime(1_999);
    expect(fake.attempts).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(fake.attempts).toHaveLength(3);
  });

  it("forgets earlier failures once a connection stayed up", () => {
    const { fake } = setup();
    fake.last().handlers.error(new Error("down"));
    vi.advanceTimersByTime(1_000);
    fake.last().handlers.error(new Error("down"));
    vi.advanceTimersByTime(2_000);
    fake.last().handlers.connected();
    vi.advanceTimersByTime(5_000);
    fake.last().handlers.error(new Error("down"));
    vi.advanceTimersByTime(1_000);
    expect(fake.attempts).toHaveLength(4);
  });

  it("a cursor the server cannot read is dropped: live from now, and a reload", () => {
    const { fake, cursor, onResync } = setup("c-garbage");
    fake.last().handlers.connected();
    fake.last().handlers.error([{ message: "invalid cursor", extensions: { code: "BAD_USER_INPUT" } }]);
    expect(cursor.load()).toBeNull();
    expect(onResync).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_000);
    expect(fake.last().after).toBeNull();
  });
});
