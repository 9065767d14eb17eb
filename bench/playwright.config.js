/**
 * Playwright configuration of the page benchmarks (bench/*.bench.ts): the UI tests' configuration
 * (a real JupyterLab server, Debian's Chromium) with this folder as the test folder, one long test
 * at a time. Not part of the UI test suite: run it by hand (README, "Benchmarks").
 */
const path = require('path');
const uiTests = require('../ui-tests/playwright.config.js');

const uiTestsDir = path.resolve(__dirname, '../ui-tests');

module.exports = {
  ...uiTests,
  testDir: '.',
  testMatch: '*.bench.ts',
  timeout: 30 * 60 * 1000,
  reporter: [['list']],
  use: {
    ...uiTests.use,
    // Precise figures from `performance.memory` too, beside the DevTools protocol's heap usage.
    launchOptions: { ...uiTests.use.launchOptions, args: ['--enable-precise-memory-info'] }
  },
  webServer: {
    ...uiTests.webServer,
    // The UI tests' server, started from their folder (its configuration and virtual environment).
    cwd: uiTestsDir
  }
};
