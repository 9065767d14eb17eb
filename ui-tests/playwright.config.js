/**
 * Galata configuration: a real JupyterLab server, driven by Debian's Chromium (never a downloaded
 * browser). Video is off: it needs a downloaded ffmpeg.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// The port of the test server: scripts/test.sh picks a free one (NBPROV_UI_PORT; default 8888, galata's).
const port = process.env.NBPROV_UI_PORT || '8888';

module.exports = {
  ...baseConfig,
  // compat/ holds the smoke test that scripts/check_install.sh runs against the oldest JupyterLab.
  testDir: './tests',
  reporter: [['list'], ['html', { open: 'never' }]],
  timeout: 120000,
  retries: 0,
  workers: 1,
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    video: 'off',
    trace: 'off',
    launchOptions: { executablePath: '/usr/bin/chromium' }
  },
  webServer: {
    command: `../.venv/bin/jupyter lab --config jupyter_server_test_config.py --port ${port} --ServerApp.port_retries=0`,
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI
  }
};
