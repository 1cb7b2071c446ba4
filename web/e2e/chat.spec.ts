// Two people, two browsers: sign up, start a conversation, chat live both ways; unread counts
// and read markers move as they read.

import { test, expect } from "./fixtures";
import { person, register, startDirect, sendMessage } from "./api";
import {
  expectExactlyOnce,
  inbox,
  inboxItem,
  messagesWith,
  send,
  signIn,
  signUp,
  startDirectConversation,
  escape,
} from "./app";
import type { Locator, Page } from "@playwright/test";

/** The message names its sender, in its text or its accessible name. */
async function expectSaidBy(message: Locator, name: string) {
  if ((await message.innerText()).includes(name)) return;
  await expect(message).toHaveAccessibleName(new RegExp(escape(name)));
}

/** Marks the page's document; [`expectNoReload`] fails if it was replaced since. */
async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { __e2eMark: boolean }).__e2eMark = true));
}
async function expectNoReload(page: Page) {
  expect(
    await page.evaluate(() => (window as unknown as { __e2eMark?: boolean }).__e2eMark === true),
    "the page was not reloaded",
  ).toBe(true);
}

test("two people sign up, start a direct conversation and chat live both ways", async ({ newContext }) => {
  const ada = person("Ada");
  const bob = person("Bob");
  const pa = await (await newContext()).newPage();
  const pb = await (await newContext()).newPage();
  await signUp(pa, ada);
  await signUp(pb, bob);
  await markDocument(pb);

  await startDirectConversation(pa, bob);
  await markDocument(pa);
  const hello = `Hello Bob, Ada here ${ada.tag}`;
  await send(pa, hello);
  await expectExactlyOnce(pa, hello);
  await expectSaidBy(messagesWith(pa, hello), ada.displayName);

  // Bob's inbox learns of the conversation live, with Ada's name.
  await inboxItem(pb, ada.displayName).click();
  await expect(pb).toHaveURL(/\/c\/[^/]+$/);
  await expect(pb.getByRole("heading", { level: 2, name: ada.displayName })).toBeVisible();
  await expectExactlyOnce(pb, hello);
  await expectSaidBy(messagesWith(pb, hello), ada.displayName);

  const reply = `Hi Ada, Bob answering ${bob.tag}`;
  await send(pb, reply);
  await expectExactlyOnce(pa, reply);
  await expectSaidBy(messagesWith(pa, reply), bob.displayName);

  const again = `Both ways then ${ada.tag}`;
  await send(pa, again);
  await expectExactlyOnce(pb, again, 1_000);
  await expectExactlyOnce(pb, hello);
  await expectExactlyOnce(pb, reply);
  await expectExactlyOnce(pa, reply);
  // Stored, not left pending.
  await expect(messagesWith(pa, again)).not.toContainText(/Sending…|Not sent/);
  await expectNoReload(pa);
  await expectNoReload(pb);
});

test("unread counts rise with each message, opening the conversation clears them, the sender sees Read", async ({
  newContext,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const cyd = await register(baseURL!, person("Cyd"));
  const session = await startDirect(baseURL!, ada, bob);
  const other = await startDirect(baseURL!, cyd, bob);
  await sendMessage(baseURL!, cyd, other, "an older conversation");

  const pa = await (await newContext()).newPage();
  const pb = await (await newContext()).newPage();
  await signIn(pb, bob);
  await expect(inboxItem(pb, cyd.displayName)).toBeVisible();
  await expect(inbox(pb).getByLabel("1 unread", { exact: true })).toHaveCount(1);
  await signIn(pa, ada);
  await pa.goto(`/c/${session}`);
  await expect(pa.getByRole("heading", { level: 2, name: bob.displayName })).toBeVisible();

  const bobsEntry = () =>
    inbox(pb)
      .getByRole("listitem")
      .filter({ has: pb.getByRole("link", { name: new RegExp(`^${escape(ada.displayName)}`) }) });
  const first = `first of two ${ada.tag}`;
  const second = `second of two ${ada.tag}`;
  await send(pa, first);
  await expect(bobsEntry().getByLabel("1 unread", { exact: true })).toBeVisible();
  await send(pa, second);
  await expect(bobsEntry().getByLabel("2 unread", { exact: true })).toBeVisible();
  // Most recent activity first: Ada's conversation went above Cyd's.
  await expect(inbox(pb).getByRole("link").first()).toHaveAccessibleName(new RegExp(`^${escape(ada.displayName)}`));

  // Not read yet: no marker on Ada's side.
  await expect(messagesWith(pa, second).getByText("Read", { exact: true })).toHaveCount(0);

  await inboxItem(pb, ada.displayName).click();
  await expectExactlyOnce(pb, first);
  await expectExactlyOnce(pb, second);
  await expect(bobsEntry().getByLabel(/unread$/)).toHaveCount(0);
  // Cyd's conversation, not opened, keeps its count.
  await expect(inbox(pb).getByLabel("1 unread", { exact: true })).toHaveCount(1);
  // Ada sees that Bob read her last message, without reloading.
  await expect(messagesWith(pa, second).getByText("Read", { exact: true })).toBeVisible();
  // Messages carrying no read marker of their own are not "Sending…" either.
  await expect(messagesWith(pa, first)).not.toContainText(/Sending…|Not sent/);
});
