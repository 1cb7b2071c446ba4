// Signing in and out: a clear error for a wrong password, staying signed in across reloads,
// "Sign out" on this browser, "Sign out everywhere" reaching another browser too.

import { test, expect } from "./fixtures";
import { person, register } from "./api";
import { mainNav, signIn } from "./app";
import type { Page } from "@playwright/test";

const signInHeading = (page: Page) => page.getByRole("heading", { name: "Sign in" });

test("a wrong password is refused with a message, the right one signs in and survives a reload", async ({
  page,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  await page.goto("/");
  await page.getByLabel("Username", { exact: true }).fill(ada.username);
  await page.getByLabel("Password", { exact: true }).fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: /\w/ })).toBeVisible();
  await expect(mainNav(page)).toHaveCount(0);

  await signIn(page, ada);
  await page.reload();
  await expect(mainNav(page)).toBeVisible();
  await expect(signInHeading(page)).toHaveCount(0);
});

test("sign out ends this browser's session; sign out everywhere ends the others too", async ({
  newContext,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const laptop = await (await newContext()).newPage();
  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  const tablet = await (await newContext()).newPage();
  await signIn(laptop, ada);
  await signIn(phone, ada);
  await signIn(tablet, ada);

  await mainNav(tablet).getByRole("link", { name: "Profile", exact: true }).click();
  await tablet.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(signInHeading(tablet)).toBeVisible();
  await tablet.reload();
  await expect(signInHeading(tablet)).toBeVisible();
  // The others are still in.
  await laptop.reload();
  await expect(mainNav(laptop)).toBeVisible();

  await mainNav(laptop).getByRole("link", { name: "Profile", exact: true }).click();
  await laptop.getByRole("button", { name: "Sign out everywhere", exact: true }).click();
  // The client asks to confirm (a button "Yes…" or "Confirm…"), or signs out at once.
  const confirm = laptop.getByRole("button", { name: /^(Yes|Confirm)/ });
  await expect(signInHeading(laptop).or(confirm)).toBeVisible();
  if (await confirm.isVisible()) await confirm.click();
  await expect(signInHeading(laptop)).toBeVisible();
  // The phone learns it without a reload (its socket is closed with 4403), at the latest on
  // its next request.
  await expect(signInHeading(phone)).toBeVisible({ timeout: 20_000 });
  await phone.reload();
  await expect(signInHeading(phone)).toBeVisible();
});
