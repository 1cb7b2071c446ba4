// GraphiQL at /graphql, from the server's own pinned assets: it renders and runs a query with
// no request leaving 127.0.0.1 and no CSP violation (the fixtures check both).

import { test, expect } from "./fixtures";

test("GraphiQL renders from our own assets and runs a query", async ({ page, baseURL }) => {
  const hosts = new Set<string>();
  page.on("request", (request) => hosts.add(new URL(request.url()).host));
  const response = await page.goto("/graphql");
  expect(response?.status()).toBe(200);
  expect(response?.headers()["content-type"]).toMatch(/text\/html/);
  const csp = response?.headers()["content-security-policy"] ?? "";
  expect(csp, "GraphiQL's page has a content security policy").toContain("default-src");
  expect(csp).not.toMatch(/unpkg|jsdelivr|https?:\/\/(?!127\.0\.0\.1)/);

  await expect(page.locator(".graphiql-container")).toBeVisible();
  const editor = page.locator(".graphiql-query-editor .CodeMirror, .graphiql-query-editor [role=textbox]").first();
  await expect(editor).toBeVisible();

  // Replace the query and run it (Ctrl+Enter): the answer comes from this server.
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText("{ __typename }");
  await page.getByRole("button", { name: /Execute query/ }).click();
  await expect(page.locator(".graphiql-response")).toContainText('"__typename": "Query"');

  expect([...hosts], "every request went to this server").toEqual([new URL(baseURL!).host]);
});
