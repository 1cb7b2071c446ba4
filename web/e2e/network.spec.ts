// A network drop on one side: the person sees they are offline, the other goes on sending, and
// once the network is back every message sent meanwhile shows exactly once (the event stream
// resumes from its cursor) and the conversation goes on live.

import { test, expect } from "./fixtures";
import { CuttableProxy } from "./proxy";
import { person, register, sendMessage, startDirect } from "./api";
import { expectExactlyOnce, messagesWith, offlineStatus, send, signIn } from "./app";

test("messages sent while one side's network is down arrive exactly once when it is back", async ({
  newContext,
  baseURL,
  server,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const session = await startDirect(baseURL!, ada, bob);
  // Bob reaches the server through a proxy whose connections the test cuts.
  const proxy = await CuttableProxy.start(server.port);
  try {
    const pa = await (await newContext()).newPage();
    const pb = await (await newContext({ baseURL: proxy.url })).newPage();
    await signIn(pa, ada);
    await signIn(pb, bob);
    await pa.goto(`/c/${session}`);
    await pb.goto(`/c/${session}`);
    const before = `before the drop ${ada.tag}`;
    await send(pa, before);
    await expectExactlyOnce(pb, before);

    proxy.cut();
    await expect(offlineStatus(pb), "Bob is told he is offline").toBeVisible({ timeout: 20_000 });
    const meanwhile = [1, 2, 3].map((n) => `while Bob was offline ${n} ${ada.tag}`);
    await send(pa, meanwhile[0]);
    await sendMessage(baseURL!, ada, session, meanwhile[1]);
    await send(pa, meanwhile[2]);
    for (const body of meanwhile) await expect(messagesWith(pa, body)).not.toContainText(/Sending…|Not sent/);
    await pb.waitForTimeout(500);
    for (const body of meanwhile) await expect(messagesWith(pb, body)).toHaveCount(0);

    proxy.restore();
    await expect(offlineStatus(pb), "Bob is back online").toHaveCount(0, { timeout: 30_000 });
    for (const body of meanwhile) await expectExactlyOnce(pb, body);
    await pb.waitForTimeout(1_000);
    for (const body of [before, ...meanwhile]) await expectExactlyOnce(pb, body);

    const after = `after the drop ${bob.tag}`;
    await send(pb, after);
    await expectExactlyOnce(pa, after);
  } finally {
    await proxy.close();
  }
});
