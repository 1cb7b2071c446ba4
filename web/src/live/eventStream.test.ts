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

  /** A stream started with `initialCursor` saved, whose head reads give `head`'s answers
   *  (by default the cursor "c-head"); resolves once the first subscription is open. */
  async function setup(initialCursor: string | null = null, head = vi.fn(async () => "c-head")) {
    const fake = fakeSource();
    const cursor = memoryCursor(initialCursor);
    const received: LiveEvent[] = [];
    const statuses: ConnectionStatus[] = [];
    const onResync = vi.fn();
    const stream = new EventStream({
      source: fake.source,
      head,
      cursor,
      onEvent: (e) => received.push(e),
      onStatus: (s) => statuses.push(s),
      onResync,
      backoff: (attempt) => 1_000 * (attempt + 1),
    });
    stream.start();
    await vi.advanceTimersByTimeAsync(0);
    return { fake, cursor, received, statuses, onResync, stream, head };
  }

  it("resumes from the stored cursor after a reload, without reading the head", async () => {
    const { fake, head, stream } = await setup("c-saved");
    expect(fake.attempts[0].after).toBe("c-saved");
    expect(head).not.toHaveBeenCalled();
    await expect(stream.ready()).resolves.toBeUndefined();
  });

  it("with no cursor, reads the head first: subscribes from it, and only then is ready", async () => {
    let answer: (cursor: string) => void = () => undefined;
    const head = vi.fn(() => new Promise<string>((resolve) => (answer = resolve)));
    const { fake, cursor, stream } = await setup(null, head);
    let ready = false;
    void stream.ready().then(() => (ready = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.attempts).toHaveLength(0);
    expect(ready).toBe(false);
    answer("c-now");
    await vi.advanceTimersByTimeAsync(0);
    expect(cursor.load()).toBe("c-now");
    expect(fake.attempts.map((a) => a.after)).toEqual(["c-now"]);
    expect(ready).toBe(true);
    expect(head).toHaveBeenCalledTimes(1);
  });

  it("a head that cannot be read is tried again after the backoff, as a dropped socket", async () => {
    const head = vi.fn(async () => "c-head");
    head.mockRejectedValueOnce(new Error("offline"));
    const { fake, statuses } = await setup(null, head);
    expect(fake.attempts).toHaveLength(0);
    expect(statuses).toEqual(["connecting", "reconnecting"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(head).toHaveBeenCalledTimes(2);
    expect(fake.attempts.map((a) => a.after)).toEqual(["c-head"]);
  });

  it("saves each event's cursor and resubscribes with the newest one after a drop", async () => {
    const { fake, cursor, received, statuses } = await setup();
    expect(fake.last().after).toBe("c-head");
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

  it("backs off and says Offline after repeated failures, then recovers", async () => {
    const { fake, statuses } = await setup();
    for (let i = 0; i < 5; i++) {
      fake.last().handlers.error(new Error("down"));
      vi.advanceTimersByTime(1_000 * (i + 1));
    }
    expect(fake.attempts).toHaveLength(6);
    expect(statuses).toContain("offline");
    fake.last().handlers.connected();
    expect(statuses[statuses.length - 1]).toBe("online");
  });

  it("LAGGED: resubscribes at once from the cursor it carries, without applying it", async () => {
    const { fake, received, cursor } = await setup();
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

  it("RESYNC: asks for a reload and keeps the live stream going from its cursor", async () => {
    const { fake, onResync, cursor, received } = await setup("c-old");
    fake.send({ ...event("RESYNC", null), cursor: "c-head" });
    expect(onResync).toHaveBeenCalledTimes(1);
    expect(cursor.load()).toBe("c-head");
    expect(fake.attempts).toHaveLength(1);
    fake.send(created(9, "c9"));
    expect(received.map((e) => e.cursor)).toEqual(["c9"]);
  });

  it("an expired token (4403) reconnects quietly the first time", async () => {
    const { fake, statuses } = await setup();
    fake.last().handlers.connected();
    fake.last().handlers.error({ code: 4403, reason: "token expired" });
    expect(statuses[statuses.length - 1]).toBe("online");
    vi.advanceTimersByTime(1_000);
    expect(fake.attempts).toHaveLength(2);
  });

  it("ignores late events of a closed subscription and stops for good", async () => {
    const { fake, received, stream } = await setup();
    const first = fake.last();
    first.handlers.error(new Error("x"));
    first.handlers.next({ data: { events: created(1, "c1") } });
    expect(received).toHaveLength(0);
    stream.stop();
    vi.advanceTimersByTime(60_000);
    expect(fake.attempts).toHaveLength(1);
  });

  it("a socket refused right after its ack backs off instead of reconnecting at once", async () => {
    const { fake } = await setup();
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

  it("forgets earlier failures once a connection stayed up", async () => {
    const { fake } = await setup();
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

  it("a cursor the server cannot read is dropped: the stream starts from the head, then reloads", async () => {
    const { fake, cursor, onResync, head } = await setup("c-garbage");
    fake.last().handlers.connected();
    fake.last().handlers.error([{ message: "invalid cursor", extensions: { code: "BAD_USER_INPUT" } }]);
    expect(cursor.load()).toBeNull();
    // Reloading before the head is read could miss what happens in between.
    expect(onResync).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(head).toHaveBeenCalledTimes(1);
    expect(onResync).toHaveBeenCalledTimes(1);
    expect(fake.last().after).toBe("c-head");
  });
});
