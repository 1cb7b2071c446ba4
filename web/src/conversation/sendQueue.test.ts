import { describe, expect, it } from "vitest";
import { message } from "../live/testing";
import { deliver, type OutgoingMessage, type SendDeps, type SendOutcome } from "./sendQueue";

const outgoing: OutgoingMessage = { sessionId: "s", clientMessageId: "cm-1", body: "hi", replyToId: null };
const networkError = { graphQLErrors: [], networkError: new Error("Failed to fetch") };
const apiError = (code: string, msg = "refused") => ({
  graphQLErrors: [{ message: msg, extensions: { code } }],
});

function harness(outcomes: SendOutcome[], stillPending = () => true) {
  const sent: OutgoingMessage[] = [];
  const statuses: [string, string | null][] = [];
  const stored: string[] = [];
  const sleeps: number[] = [];
  const deps: SendDeps = {
    send: async (m) => {
      sent.push(m);
      return outcomes.shift() ?? { error: networkError };
    },
    stored: (_s, m) => stored.push(m.id),
    status: (_s, _id, status, error) => statuses.push([status, error]),
    stillPending: () => stillPending(),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    retryDelays: [10, 20, 40],
  };
  return { deps, sent, statuses, stored, sleeps };
}

describe("deliver", () => {
  it("stores the answer of a successful send", async () => {
    const h = harness([{ message: message(1, { clientMessageId: "cm-1" }) }]);
    await deliver(h.deps, outgoing);
    expect(h.stored).toEqual(["m1"]);
    expect(h.sent).toHaveLength(1);
  });

  it("retries network failures with the same clientMessageId, then succeeds", async () => {
    const h = harness([{ error: networkError }, { error: networkError }, { message: message(1) }]);
    await deliver(h.deps, outgoing);
    expect(h.sent.map((m) => m.clientMessageId)).toEqual(["cm-1", "cm-1", "cm-1"]);
    expect(h.sleeps).toEqual([10, 20]);
    expect(h.stored).toEqual(["m1"]);
  });

  it("says Not sent after the last retry (a manual retry may follow)", async () => {
    const h = harness([]);
    await deliver(h.deps, outgoing);
    expect(h.sent).toHaveLength(4);
    expect(h.statuses[h.statuses.length - 1][0]).toBe("failed");
  });

  it("retries UNAVAILABLE like a network failure", async () => {
    const h = harness([{ error: apiError("UNAVAILABLE") }, { message: message(1) }]);
    await deliver(h.deps, outgoing);
    expect(h.sent).toHaveLength(2);
  });

  it("a refusal is final and shows why", async () => {
    const h = harness([{ error: apiError("BAD_USER_INPUT", "the body is empty") }]);
    await deliver(h.deps, outgoing);
    expect(h.sent).toHaveLength(1);
    expect(h.statuses[h.statuses.length - 1]).toEqual(["refused", "The body is empty."]);
  });

  it("a rate limit is not retried automatically but may be retried by hand", async () => {
    const h = harness([{ error: { graphQLErrors: [{ message: "slow down", extensions: { code: "RATE_LIMITED", retryAfter: 12 } }] } }]);
    await deliver(h.deps, outgoing);
    expect(h.sent).toHaveLength(1);
    expect(h.statuses[h.statuses.length - 1]).toEqual(["failed", "Too many attempts. Try again in 12 seconds."]);
  });

  it("stops retrying once the live event delivered the stored copy", async () => {
    let pending = true;
    const h = harness([{ error: networkError }], () => pending);
    h.deps.sleep = async () => {
      pending = false;
    };
    await deliver(h.deps, outgoing);
    expect(h.sent).toHaveLength(1);
    expect(h.statuses.map((s) => s[0])).toEqual(["sending"]);
  });
});
