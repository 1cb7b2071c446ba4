import { describe, expect, it } from "vitest";
import { errorCode, errorMessage, isRetryable } from "./errors";

const api = (code: string, message = "x", extensions: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extensions } }],
});

describe("errorMessage", () => {
  it("has a sentence for every code", () => {
    expect(errorMessage(api("UNAUTHENTICATED", "wrong username or password"))).toBe("Wrong username or password.");
    expect(errorMessage(api("UNAUTHENTICATED", "token expired"))).toMatch(/sign in again/);
    expect(errorMessage(api("FORBIDDEN", ""))).toBe("You are not allowed to do that.");
    expect(errorMessage(api("FORBIDDEN", "you cannot send messages to this user"))).toBe(
      "You cannot send messages to this user.",
    );
    expect(errorMessage(api("NOT_FOUND"))).toMatch(/not found/);
    expect(errorMessage(api("BAD_USER_INPUT", "password must have at least 8 characters"))).toBe(
      "Password must have at least 8 characters.",
    );
    expect(errorMessage(api("CONFLICT", "the username is taken"))).toBe("The username is taken.");
    expect(errorMessage(api("RATE_LIMITED", "x", { retryAfter: 1 }))).toBe("Too many attempts. Try again in 1 second.");
    expect(errorMessage(api("RATE_LIMITED", "x", { retryAfter: 900 }))).toBe("Too many attempts. Try again in 15 minutes.");
    expect(errorMessage(api("UNAVAILABLE"))).toMatch(/temporarily unavailable/);
    expect(errorMessage(api("INTERNAL"))).toMatch(/went wrong on the server/);
    expect(errorMessage(api("GRAPHQL_VALIDATION_FAILED"))).toMatch(/Reload the page/);
  });

  it("explains network failures", () => {
    const network = { graphQLErrors: [], networkError: new Error("Failed to fetch") };
    expect(errorMessage(network)).toMatch(/Could not reach the server/);
    expect(isRetryable(network)).toBe(true);
    expect(errorCode(network)).toBeNull();
  });

  it("retries only what may pass at once", () => {
    expect(isRetryable(api("UNAVAILABLE"))).toBe(true);
    expect(isRetryable(api("RATE_LIMITED"))).toBe(false);
    expect(isRetryable(api("BAD_USER_INPUT"))).toBe(false);
  });
});
