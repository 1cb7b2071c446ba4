// The server is restarted mid-chat, after a graceful stop and after a crash (SIGKILL), on the
// same port: both people see the connection go and come back, and every message (sent just
// before the stop, typed while the server was down, sent through the API right after the
// restart, sent after it) is shown exactly once on both sides and stored exactly once.

import { test, expect } from "./fixtures";
import { ServerProcess } from "./server";
import { person, register, sendMessage, startDirect, storedBodies } from "./api";
import { composer, expectExactlyOnce, messagesWith, offlineStatus, send, signIn } from "./app";

for (const how of ["stopped (SIGTERM)", "killed (SIGKILL)"] as const) {
  test(`a server ${how} and restarted mid-chat loses and doubles nothing`, async ({ newContext }, testInfo) => {
    test.setTimeout(120_000);
    const server = await ServerProcess.start("restart");
    try {
      const baseURL = server.url;
      const ada = await register(baseURL, person("Ada"));
      const bob = await register(baseURL, person("Bob"));
      const session = await startDirect(baseURL, ada, bob);
      const pa = await (await newContext({ baseURL })).newPage();
      const pb = await (await newContext({ baseURL })).newPage();
      await signIn(pa, ada);
      await signIn(pb, bob);
      await pa.goto(`/c/${session}`);
      await pb.goto(`/c/${session}`);
      await expect(pb.getByRole("heading", { level: 2, name: ada.displayName })).toBeVisible();
      await expect(offlineStatus(pb)).toHaveCount(0);

      const warmUp = `before the restart ${ada.tag}`;
      await send(pa, warmUp);
      await expectExactlyOnce(pb, warmUp);

      // Stored (its bubble no longer pending), then the server goes at once: Bob's socket may
      // or may not have delivered it.
      const justBefore = `just before the stop ${ada.tag}`;
      await send(pa, justBefore);
      await expect(messagesWith(pa, justBefore)).toHaveCount(1);
      await expect(messagesWith(pa, justBefore)).not.toContainText(/Sending…|Not sent/);
      await server.stop({ kill: how.includes("KILL") });

      await expect(offlineStatus(pb), "Bob is told the connection is gone").toBeVisible();
      await expect(offlineStatus(pa), "Ada is told the connection is gone").toBeVisible();
      // Ada writes while the server is down: the send waits or fails for a network reason, and
      // is retried with the same client message id once the server is back.
      const whileDown = `sent while the server was down ${ada.tag}`;
      await composer(pa).fill(whileDown);
      await composer(pa).press("Enter");
      await expect(messagesWith(pa, whileDown)).toHaveCount(1);

      await server.restart();
      // Sent at once, most likely before either browser is back: found by resuming.
      const rightAfter = `right after the restart ${ada.tag}`;
      await sendMessage(baseURL, ada, session, rightAfter);
      await expect(offlineStatus(pb), "Bob is back online").toHaveCount(0, { timeout: 30_000 });
      await expect(offlineStatus(pa), "Ada is back online").toHaveCount(0, { timeout: 30_000 });
      // A send that gave up shows "Not sent" with Retry, which a person would press.
      const retry = messagesWith(pa, whileDown).getByRole("button", { name: "Retry" });
      if (await retry.isVisible()) await retry.click();
      await expect(messagesWith(pa, whileDown)).not.toContainText(/Sending…|Not sent/, { timeout: 20_000 });

      const after = [1, 2, 3].map((n) => `after the restart ${n} ${ada.tag}`);
      for (const body of after) await send(pa, body);

      const all = [warmUp, justBefore, whileDown, rightAfter, ...after];
      for (const body of all) await expectExactlyOnce(pb, body);
      // Nothing doubles later either (a replay after the resume, a retried send).
      await pb.waitForTimeout(1_500);
      for (const body of all) {
        await expectExactlyOnce(pb, body);
        await expectExactlyOnce(pa, body);
      }
      for (const body of after) await expect(messagesWith(pa, body)).not.toContainText(/Sending…|Not sent/);

      const stored = await storedBodies(baseURL, bob, session);
      for (const body of all) {
        expect(stored.filter((b) => b === body), `"${body}" stored once`).toHaveLength(1);
      }
    } catch (error) {
      await testInfo.attach("restarted server log (tail)", { body: server.logTail(), contentType: "text/plain" });
      console.error(`--- log of the restarted server:\n${server.logTail()}`);
      throw error;
    } finally {
      await server.stop();
    }
  });
}
