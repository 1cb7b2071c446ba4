// Screenshots of the inbox and an open conversation at phone width (390×844, one pane) and
// desktop width (1280×800, two panes), light and dark, written to e2e/output/screenshots/ under
// stable names (docs/screenshots/ holds copies; the README shows one).

import path from "node:path";
import { test, expect } from "./fixtures";
import { createGroup, register, sendMessage, startDirect, uid, uploadAvatar } from "./api";
import { inbox, inboxItem, messagesWith, signIn } from "./app";
import { gradientPng } from "./png";

const DIR = path.join(import.meta.dirname, "output", "screenshots");

const WIDTHS = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;

test("screenshots at phone and desktop width, light and dark", async ({ newContext, baseURL }) => {
  test.setTimeout(90_000);
  const tag = uid();
  // Fixed display names (usernames stay unique) so the pictures read like a real inbox.
  const named = (username: string, displayName: string) =>
    register(baseURL!, { username: `${username}_${tag}`, displayName, password: `password ${tag}` });
  const ada = await named("ada", "Ada Lovelace");
  const grace = await named("grace", "Grace Hopper");
  const alan = await named("alan", "Alan Turing");
  await uploadAvatar(baseURL!, grace, gradientPng(128, 128));

  const club = await createGroup(baseURL!, ada, "Analytical Engine club", [grace, alan]);
  await sendMessage(baseURL!, alan, club, "Minutes of Thursday's meeting are in the shared folder.");
  await sendMessage(baseURL!, grace, club, "Thanks Alan! I'll bring the punched cards.");
  const withAlan = await startDirect(baseURL!, alan, ada);
  await sendMessage(baseURL!, alan, withAlan, "Can machines think? Let's discuss over tea.");
  const direct = await startDirect(baseURL!, grace, ada);
  const lines: [typeof ada, string][] = [
    [grace, "Morning Ada! Did the compiler run overnight?"],
    [ada, "It did — and it found a moth in relay 70."],
    [grace, "Tape it into the log book, it's the first actual bug."],
    [ada, "Done. Shall we meet at 3 to go through the notes?"],
    [grace, "3 works. I'll bring coffee ☕"],
  ];
  for (const [who, body] of lines) await sendMessage(baseURL!, who, direct, body);

  for (const [width, viewport] of Object.entries(WIDTHS)) {
    for (const colorScheme of ["light", "dark"] as const) {
      const page = await (await newContext({ viewport, colorScheme })).newPage();
      await signIn(page, ada);
      await expect(inboxItem(page, "Grace Hopper")).toBeVisible();
      await expect(inboxItem(page, "Analytical Engine club")).toBeVisible();
      await page.screenshot({ path: path.join(DIR, `inbox-${width}-${colorScheme}.png`), animations: "disabled" });

      await inboxItem(page, "Grace Hopper").click();
      await expect(page.getByRole("heading", { level: 2, name: "Grace Hopper" })).toBeVisible();
      await expect(messagesWith(page, "I'll bring coffee")).toBeVisible();
      if (width === "phone") {
        // One pane: the conversation replaces the inbox.
        await expect(inbox(page)).toBeHidden();
      } else {
        // Two panes: the inbox stays beside the conversation.
        await expect(inbox(page)).toBeVisible();
      }
      await page.screenshot({
        path: path.join(DIR, `conversation-${width}-${colorScheme}.png`),
        animations: "disabled",
      });
      await page.context().close();
    }
  }
});
