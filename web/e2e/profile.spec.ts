// A profile picture: chosen, previewed before saving, uploaded, then shown from /media/.

import { test, expect } from "./fixtures";
import { person, register } from "./api";
import { mainNav, signIn } from "./app";
import { gradientPng } from "./png";

test("an uploaded profile picture is previewed, then shown from the server", async ({ page, baseURL }) => {
  const ada = await register(baseURL!, person("Ada"));
  await signIn(page, ada);
  await mainNav(page).getByRole("link", { name: "Profile", exact: true }).click();
  await expect(page).toHaveURL(/\/profile$/);

  await page.getByLabel("Profile picture", { exact: true }).setInputFiles({
    name: "gradient.png",
    mimeType: "image/png",
    buffer: gradientPng(96, 96),
  });
  const preview = page.getByRole("img", { name: "Preview of the new picture", exact: true });
  await expect(preview).toBeVisible();
  await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);

  await page.getByRole("button", { name: "Upload picture", exact: true }).click();
  const current = page.getByRole("img", { name: "Your profile picture", exact: true });
  await expect(current).toBeVisible();
  await expect(current).toHaveAttribute("src", /^(http:\/\/127\.0\.0\.1:\d+)?\/media\//);
  await expect.poll(() => current.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);

  // It is the account's picture, not only this page's: after a reload too.
  await page.reload();
  await expect(current).toBeVisible();
  await expect(current).toHaveAttribute("src", /\/media\/avatars\//);
  await expect.poll(() => current.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);

  // And it goes again.
  await page.getByRole("button", { name: "Remove picture", exact: true }).click();
  await expect(current).toHaveCount(0);
});
