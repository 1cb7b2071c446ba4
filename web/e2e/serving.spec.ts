// How the server serves the client: index.html with a strict content security policy and no
// inline script, the client's routes falling back to it, hashed assets cached for a year.

import { test, expect } from "./fixtures";

test("the client is served at / with a strict CSP, route fallback and long-lived assets", async ({
  page,
  request,
}) => {
  const index = await request.get("/");
  expect(index.status()).toBe(200);
  expect(index.headers()["content-type"]).toMatch(/text\/html/);
  const csp = index.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/script-src 'self'/);
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  const html = await index.text();
  expect(html, "no inline script").not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\sstyle=|<style/);

  for (const route of ["/c/00000000-0000-0000-0000-000000000000", "/new", "/profile", "/search"]) {
    const fallback = await request.get(route, { headers: { accept: "text/html" } });
    expect(fallback.status(), route).toBe(200);
    expect(await fallback.text(), route).toBe(html);
  }

  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  expect(assets.length).toBeGreaterThan(0);
  for (const asset of assets) {
    const answer = await request.get(asset);
    expect(answer.status(), asset).toBe(200);
    expect(answer.headers()["cache-control"], asset).toMatch(/max-age=31536000/);
    expect(answer.headers()["cache-control"], asset).toMatch(/immutable/);
  }
  const missing = await request.get("/assets/no-such-file-0123.js");
  expect(missing.status(), "a missing asset is a 404, not the index").toBe(404);

  // And the page itself starts in the browser (the fixtures fail on any CSP violation).
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});
