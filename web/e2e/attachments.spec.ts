// Attachments between real browsers and the real server: Ada picks a picture and a file,
// both upload before Send is allowed, and Bob sees the picture as a thumbnail (loaded through
// its signed URL) and the file as a chip that downloads the same bytes.

import path from "node:path";
import { test, expect } from "./fixtures";
import { person, register, startDirect } from "./api";
import { composer, inboxItem, messagesWith, openSignedIn } from "./app";
import { gradientPng } from "./png";

test("a picture and a file sent together show as a thumbnail and a download chip", async ({
  newContext,
  baseURL,
}) => {
  const ada = await register(baseURL!, person("Ada"));
  const bob = await register(baseURL!, person("Bob"));
  const session = await startDirect(baseURL!, ada, bob);
  const pa = await openSignedIn(newContext, ada, `/c/${session}`);
  const pb = await openSignedIn(newContext, bob, `/c/${session}`);

  const notes = `meeting notes ${ada.tag}\n`;
  await pa.getByLabel("Files to attach").setInputFiles([
    { name: "sunset.png", mimeType: "image/png", buffer: gradientPng(800, 400) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(notes) },
  ]);
  const drafts = pa.getByRole("list", { name: "Files to send" });
  await expect(drafts.getByRole("listitem")).toHaveCount(2);
  await expect(drafts.getByText("Ready")).toHaveCount(2, { timeout: 15_000 });
  await expect(pa.getByRole("button", { name: "Send", exact: true })).toBeEnabled();

  const caption = `Photos from Friday ${ada.tag}`;
  await composer(pa).fill(caption);
  await composer(pa).press("Enter");
  await expect(drafts).toHaveCount(0);

  // Bob: the picture as a thumbnail that really loads (asked for 640 pixels wide: no
  // thumbnail of an 800-pixel picture is that wide, so the picture itself), the file as a
  // download chip.
  const message = messagesWith(pb, caption);
  await expect(message).toBeVisible();
  const picture = message.getByRole("img", { name: "sunset.png", exact: true });
  await expect(picture).toBeVisible();
  await expect
    .poll(() => picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
    .toBe(800);
  await pb.screenshot({ path: path.join(import.meta.dirname, "output", "screenshots", "attachments.png") });
  const chip = message.getByRole("link", { name: /Download notes\.txt/ });
  await expect(chip).toBeVisible();
  await expect(chip).toHaveAttribute("download", "notes.txt");

  // The chip's signed URL gives the same bytes, as a download; unsigned, nothing.
  const href = (await chip.getAttribute("href"))!;
  const got = await pb.request.get(href);
  expect(got.status()).toBe(200);
  expect(await got.text()).toBe(notes);
  expect(got.headers()["content-disposition"]).toMatch(/^attachment; filename="notes.txt"/);
  const bare = await pb.request.get(href.split("?")[0]);
  expect(bare.status()).toBe(403);

  // Ada sees her own message stored with both, not left pending.
  const own = messagesWith(pa, caption);
  await expect(own.getByRole("img", { name: "sunset.png", exact: true })).toBeVisible();
  await expect(own).not.toContainText(/Sending…|Not sent/);

  // A file alone, without text: Bob's inbox says what it is.
  await pa.getByLabel("Files to attach").setInputFiles([
    { name: "agenda.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 agenda") },
  ]);
  await expect(drafts.getByText("Ready")).toHaveCount(1, { timeout: 15_000 });
  await pa.getByRole("button", { name: "Send", exact: true }).click();
  await expect(inboxItem(pb, ada.displayName)).toContainText("File: agenda.pdf");
});
