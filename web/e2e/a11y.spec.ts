// axe-core on every main screen, in both colour schemes: no violation of impact "serious" or
// "critical" (contrast, names, roles, landmarks…).

import AxeBuilder from "@axe-core/playwright";
import { test, expect } from "./fixtures";
import { person, register, sendMessage, startDirect } from "./api";
import { control, mainNav, messagesWith, signIn } from "./app";
import type { Page } from "@playwright/test";

async function expectNoSeriousViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const described = serious.map(
    (v) =>
      `${v.impact} ${v.id}: ${v.help}\n` +
      v.nodes
        .slice(0, 5)
        .map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.replace(/\n/g, " ")}`)
        .join("\n"),
  );
  expect(described, `axe on ${screen}`).toEqual([]);
}

for (const colorScheme of ["light", "dark"] as const) {
  test(`no serious accessibility violations on the main screens (${colorScheme})`, async ({ newContext, baseURL }) => {
    const ada = await register(baseURL!, person("Ada"));
    const bob = await register(baseURL!, person("Bob"));
    const session = await startDirect(baseURL!, bob, ada);
    await sendMessage(baseURL!, bob, session, `Hello Ada ${bob.tag}`);
    await sendMessage(baseURL!, ada, session, `Hello Bob ${ada.tag}`);
    await sendMessage(baseURL!, bob, session, `How are you? ${bob.tag}`);

    const page = await (await newContext({ colorScheme })).newPage();
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await expectNoSeriousViolations(page, "sign-in");
    await control(page, "Create an account").click();
    await expect(page.getByLabel("Display name", { exact: true })).toBeVisible();
    await expectNoSeriousViolations(page, "sign-up");

    await signIn(page, ada);
    await expect(page.getByRole("list", { name: "Conversations" }).getByRole("link").first()).toBeVisible();
    await expectNoSeriousViolations(page, "inbox");

    await page.goto(`/c/${session}`);
    await expect(messagesWith(page, `How are you? ${bob.tag}`)).toBeVisible();
    await expectNoSeriousViolations(page, "conversation");

    await mainNav(page).getByRole("link", { name: "Profile", exact: true }).click();
    await expect(page.getByLabel("Display name", { exact: true })).toBeVisible();
    await expectNoSeriousViolations(page, "profile");

    await mainNav(page).getByRole("link", { name: "New conversation", exact: true }).click();
    await expect(page.getByLabel("Find people", { exact: true })).toBeVisible();
    await page.getByLabel("Find people", { exact: true }).fill(bob.tag);
    await expect(page.getByRole("button", { name: `Message ${bob.displayName}`, exact: true })).toBeVisible();
    await expectNoSeriousViolations(page, "new conversation");

    await mainNav(page).getByRole("link", { name: "Search", exact: true }).click();
    await page.getByLabel("Search messages", { exact: true }).fill("Hello");
    await expect(page.getByRole("list", { name: "Results" }).getByRole("listitem").first()).toBeVisible();
    await expectNoSeriousViolations(page, "search");

    await page.goto(`/c/${session}/details`);
    await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
    await expectNoSeriousViolations(page, "conversation details");
  });
}
