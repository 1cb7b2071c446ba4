// What a person does in the client, by the accessible names of the contract
// (/tmp/web-contract.md → "Accessible names the end-to-end tests rely on").

import { expect, type Locator, type Page } from "@playwright/test";

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
