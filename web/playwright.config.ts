import { defineConfig, devices } from "@playwright/test";

// End-to-end tests of the web client against the real server binary, in Debian's Chromium.
// `cargo test` runs them through tests/web.rs, which sets MESSENGER_BIN (the debug binary cargo
// built), DATABASE_URL (a fresh database) and MESSENGER_DATA_DIR (a temporary folder). By hand:
//   cargo build && DATABASE_URL=postgres://root@127.0.0.1:5432/messenger_e2e npx playwright test
// Every worker starts its own server on a free 127.0.0.1 port (e2e/fixtures.ts); nothing leaves
// the machine and no browser is ever downloaded. tests/web.rs runs the budget tests (@budget)
// first on one worker, then the rest (--grep-invert @budget). Output: e2e/output/ (report.json,
// budgets.json, failure screenshots); the screenshots for the README: e2e/screenshots/.

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./e2e/output/test-results",
  globalSetup: "./e2e/global-setup.ts",
  // Two workers: two servers on one database (migrated once by the global setup).
  workers: 2,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  // Per test, and for the whole run: a hung test fails instead of holding CI.
  timeout: 60_000,
  globalTimeout: 6 * 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: "./e2e/output/report.json" }]],
  use: {
    ...devices["Desktop Chrome"],
    viewport: { width: 1280, height: 800 },
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
    trace: "off",
    screenshot: "only-on-failure",
    locale: "en-US",
    timezoneId: "UTC",
  },
});
