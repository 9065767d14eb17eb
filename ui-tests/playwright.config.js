/**
 * Galata configuration: a real JupyterLab server, driven by Debian's Chromium (never a downloaded
 * browser). Video is off: it needs a downloaded ffmpeg.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['html', { open: 'never' }]],
  timeout: 120000,
  retries: 0,
  workers: 1,
  use: {
    ...baseConfig.use,
    video: 'off',
    trace: 'off',
    launchOptions: { executablePath: '/usr/bin/chromium' }
  },
  webServer: {
    command: '../.venv/bin/jupyter lab --config jupyter_server_test_config.py',
    url: 'http://localhost:8888/lab',
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI
  }
};
