// PyMD's browser suite: run by `cargo test` (crates/pymd-server/tests/api/browser.rs), which
// starts the app and the dev tenant on 127.0.0.1 and passes their URLs in PYMD_APP_URL and
// PYMD_TENANT_URL. The browser is Debian's chromium (PYMD_CHROMIUM, default /usr/bin/chromium):
// this suite never downloads one.
const path = require('node:path');
const { defineConfig } = require('@playwright/test');

const artifacts = process.env.PYMD_BROWSER_ARTIFACTS
  || path.join(__dirname, '..', '..', 'target', 'browser');

module.exports = defineConfig({
  testDir: './specs',
  outputDir: path.join(artifacts, 'test-results'),
  // Two cores in CI: two browsers at a time keeps the wall time short without starving the app.
  workers: 2,
  fullyParallel: true,
  forbidOnly: true,
  retries: 0,
  timeout: 45_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: path.join(artifacts, 'results.json') }]],
  use: {
    baseURL: process.env.PYMD_APP_URL,
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.PYMD_CHROMIUM || '/usr/bin/chromium' },
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    navigationTimeout: 15_000,
    actionTimeout: 10_000,
  },
});
