// The tests' fixtures: one real server per worker (its log attached to a failing test), and
// browser contexts that record what a person must never get: a content security policy
// violation, an uncaught script error, or a request to any host but 127.0.0.1.

import { test as base, expect, type BrowserContext, type BrowserContextOptions, type Page } from "@playwright/test";
import { ServerProcess } from "./server";

export { expect };

/** Starts watching a context; what goes wrong is pushed to `problems`. */
export async function watchContext(context: BrowserContext, problems: string[], label = "") {
  // Chromium also logs each violation to the console; the event catches the ones it does not
  // (report-only, or in a worker's document).
  await context.addInitScript(() => {
    document.addEventListener(
      "securitypolicyviolation",
      (e) =>
        console.error(
          `Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} ` +
            `(${e.sourceFile}:${e.lineNumber})`,
        ),
      true,
    );
  });
  const onPage = (page: Page) => {
    page.on("console", (message) => {
      if (/content.security.policy/i.test(message.text())) {
        problems.push(`${label}${page.url()}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`${label}${page.url()}: uncaught ${error.stack ?? error.message}`));
  };
  context.pages().forEach(onPage);
  context.on("page", onPage);
  context.on("request", (request) => {
    const url = new URL(request.url());
    if (["http:", "https:", "ws:", "wss:"].includes(url.protocol) && url.hostname !== "127.0.0.1") {
      problems.push(`${label}request to another host: ${request.url()}`);
    }
  });
}

interface TestFixtures {
  /** Everything the watched contexts of this test recorded; checked empty at its end. */
  problems: string[];
  /** Opens one more watched context (another person, another width); closed at the end. */
  newContext: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  /** The server this test talks to (the worker's, unless the test starts its own). */
  serverLog: void;
}

interface WorkerFixtures {
  server: ServerProcess;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    async ({}, use, workerInfo) => {
      const server = await ServerProcess.start(`worker${workerInfo.workerIndex}`);
      await use(server);
      await server.stop();
    },
    { scope: "worker", timeout: 90_000 },
  ],
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
  serverLog: [
    async ({ server }, use, testInfo) => {
      await use();
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach("server log (tail)", { body: server.logTail(), contentType: "text/plain" });
        console.error(`--- server log of the failed test "${testInfo.title}":\n${server.logTail()}`);
      }
    },
    { auto: true },
  ],
  problems: async ({}, use) => {
    const problems: string[] = [];
    await use(problems);
    expect(problems, "CSP violations, uncaught errors or requests leaving 127.0.0.1").toEqual([]);
  },
  context: async ({ context, problems }, use) => {
    await watchContext(context, problems);
    await use(context);
  },
  newContext: async ({ browser, problems, baseURL, contextOptions }, use) => {
    const opened: BrowserContext[] = [];
    await use(async (options = {}) => {
      const context = await browser.newContext({
        ...contextOptions,
        baseURL,
        viewport: { width: 1280, height: 800 },
        locale: "en-US",
        timezoneId: "UTC",
        ...options,
      });
      context.setDefaultTimeout(10_000);
      context.setDefaultNavigationTimeout(15_000);
      await watchContext(context, problems, `context ${opened.length + 1}: `);
      opened.push(context);
      return context;
    });
    for (const context of opened) await context.close();
  },
});
