// What a person does in the client, by the accessible names of the contract
// (/tmp/web-contract.md → "Accessible names the end-to-end tests rely on").
//
// The social features add these names (social.spec.ts relies on them):
// - under a message, a group "Reactions" of chips: buttons named "<emoji> <n> reaction(s)",
//   with ", you reacted" and aria-pressed="true" when the viewer is one of them;
// - in a message's actions, a menu button "Add reaction" whose menu holds
//   menuitemcheckbox items named "Thumbs up", "Red heart", "Face with tears of joy",
//   "Party popper", "Surprised face", "Crying face", "Folded hands", "Eyes";
// - in the composer, while "@" and letters are typed, a listbox "Members to mention" of
//   options "<display name> @<username>"; mentions in bodies are spans of class "mention"
//   ("mention mention-viewer" for the viewer's own);
// - on an inbox entry, images "n unread mention(s)" (the "@" badge) and "Muted";
// - in the conversation header (the region named by the title), an image "Muted" and a
//   menu button "Conversation options" with menu items "Mute for 1 hour", "Mute for 8
//   hours", "Mute until I unmute", "Unmute" (when muted) and, in a direct conversation,
//   "Block <name>" / "Unblock <name>"; blocking asks first ("Yes, block");
// - a message from a blocked user in a group reads "Message from a blocked user" with a
//   button "Show";
// - on the profile page, a section "Blocked users" with buttons "Unblock <name>".

import { expect, type BrowserContext, type Locator, type Page } from "@playwright/test";

export interface Person {
  username: string;
  displayName: string;
  password: string;
  tag: string;
}

/** A control by one of several roles (a tab, a link or a button, as the UI chooses). */
export function control(page: Page, name: string, roles = ["tab", "link", "button"] as const): Locator {
  let found: Locator | null = null;
  for (const role of roles) {
    const one = page.getByRole(role, { name, exact: true });
    found = found ? found.or(one) : one;
  }
  return found!.first();
}

export const mainNav = (page: Page) => page.getByRole("navigation", { name: "Main" });
export const inbox = (page: Page) => page.getByRole("list", { name: "Conversations" });
/** The inbox entry whose accessible name starts with `title`. */
export const inboxItem = (page: Page, title: string) =>
  inbox(page).getByRole("link", { name: new RegExp(`^${escape(title)}`) });
export const messageLog = (page: Page) => page.getByRole("log", { name: "Messages" });
/** The messages whose text includes `body` (anywhere in the log). */
export const messagesWith = (page: Page, body: string) =>
  messageLog(page).getByRole("article").filter({ hasText: body });
export const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });
/** The connection indicator while the socket is down. */
export const offlineStatus = (page: Page) =>
  page.getByRole("status").filter({ hasText: /Offline|Reconnecting/ });

export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export async function signUp(page: Page, who: Person) {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await control(page, "Create an account").click();
  await page.getByLabel("Username", { exact: true }).fill(who.username);
  await page.getByLabel("Display name", { exact: true }).fill(who.displayName);
  await page.getByLabel("Password", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(mainNav(page)).toBeVisible();
}

export async function signIn(page: Page, who: { username: string; password: string }) {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByLabel("Username", { exact: true }).fill(who.username);
  await page.getByLabel("Password", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(mainNav(page)).toBeVisible();
}

/** A page in a browser of its own, signed in as `who`, then at `path` if given. */
export async function openSignedIn(
  newContext: () => Promise<BrowserContext>,
  who: { username: string; password: string },
  path?: string,
): Promise<Page> {
  const page = await (await newContext()).newPage();
  await signIn(page, who);
  if (path) await page.goto(path);
  return page;
}

/** New conversation → Find people → Message <name>; ends in the open conversation. */
export async function startDirectConversation(page: Page, other: Person) {
  await mainNav(page).getByRole("link", { name: "New conversation", exact: true }).click();
  await page.getByLabel("Find people", { exact: true }).fill(other.tag);
  await page.getByRole("button", { name: `Message ${other.displayName}`, exact: true }).click();
  await expect(page).toHaveURL(/\/c\/[^/]+$/);
  await expect(page.getByRole("heading", { level: 2, name: other.displayName })).toBeVisible();
}

/** Types `body` into the composer and sends it with Enter. */
export async function send(page: Page, body: string) {
  await composer(page).fill(body);
  await composer(page).press("Enter");
  await expect(composer(page)).toHaveValue("");
}

/** The message with `body` is shown exactly once, and stays so for `settle` ms. */
export async function expectExactlyOnce(page: Page, body: string, settle = 0) {
  await expect(messagesWith(page, body), `"${body}" shown once`).toHaveCount(1);
  if (settle > 0) {
    await page.waitForTimeout(settle);
    await expect(messagesWith(page, body), `"${body}" still shown once`).toHaveCount(1);
  }
}

/** The open conversation: the region named by its title. */
export const conversationRegion = (page: Page, title: string) =>
  page.getByRole("region", { name: title, exact: true });

/** Opens the conversation's "Conversation options" menu and picks `item`. */
export async function conversationOption(page: Page, item: string) {
  await page.getByRole("button", { name: "Conversation options", exact: true }).click();
  await page.getByRole("menu").getByRole("menuitem", { name: item, exact: true }).click();
}

/** The reaction chip of `emoji` on a message (any count). */
export const reactionChip = (message: Locator, emoji: string) =>
  message
    .getByRole("group", { name: "Reactions", exact: true })
    .getByRole("button", { name: new RegExp(`^${escape(emoji)} \\d+ reactions?`) });
