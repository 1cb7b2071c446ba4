// The main flow with the keyboard alone: sign in, reach a conversation, write and send with
// Enter. No clicks: only Tab, Enter and typing.

import { test, expect } from "./fixtures";
import { person, register, sendMessage, startDirect, storedBodies } from "./api";
import { composer, inboxItem, mainNav, messagesWith } from "./app";
import type { Locator, Page } from "@playwright/test";

/** Presses Tab until `target` has the focus (at most `max` times). */
async function tabTo(page: Page, target: Locator, what: string, max = 60) {
  await expect(target).toBeVisible();
  const trail: string[] = [];
  for (let i = 0; i <= max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    trail.push(
      await page.evaluate(() => {
        const el = document.activeElement;
        if (!el) return "(nothing)";
        const name = el.getAttribute("aria-label") ?? (el.textContent ?? "").trim().slice(0, 30);
        return `${el.tagName.toLowerCase()}${name ? ` "${name}"` : ""}`;
      }),
    );
    await page.keyboard.press("Tab");
  }
  throw new Error(`${max} presses of Tab never reached ${what}; focus went: ${trail.join(" → ")}`);
}

test("keyboard only: sign in, open a conversation, send with Enter", async ({ page, baseURL }) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const session = await startDirect(baseURL!, bob, ada);
  await sendMessage(baseURL!, bob, session, `Ada, answer me with the keyboard ${bob.tag}`);

  await page.goto("/");
  await tabTo(page, page.getByLabel("Username", { exact: true }), "the Username field");
  await page.keyboard.type(ada.username);
  await tabTo(page, page.getByLabel("Password", { exact: true }), "the Password field");
  await page.keyboard.type(ada.password);
  await page.keyboard.press("Enter");
  await expect(mainNav(page)).toBeVisible();

  await tabTo(page, inboxItem(page, bob.displayName), `the inbox entry of ${bob.displayName}`);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 2, name: bob.displayName })).toBeVisible();
  await expect(messagesWith(page, `answer me with the keyboard ${bob.tag}`)).toBeVisible();

  await tabTo(page, composer(page), "the Message field");
  const body = `typed and sent without a mouse ${ada.tag}`;
  await page.keyboard.type(body);
  await page.keyboard.press("Enter");
  await expect(messagesWith(page, body)).toHaveCount(1);
  await expect(messagesWith(page, body)).not.toContainText(/Sending…|Not sent/);
  await expect(composer(page)).toHaveValue("");
  expect(await storedBodies(baseURL!, bob, session)).toContain(body);

  // Shift+Enter is a new line, not a send.
  await tabTo(page, composer(page), "the Message field, again");
  await page.keyboard.type("two");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("lines");
  await expect(composer(page)).toHaveValue("two\nlines");
});
