/**
 * UI smoke test of the installed wheel in the oldest supported JupyterLab (scripts/check_install.sh):
 * plain Playwright, no galata (galata follows the newest JupyterLab), Debian's Chromium. The server
 * is the JupyterLab of the virtual environment NBPROV_COMPAT_VENV, on port NBPROV_COMPAT_PORT.
 */
const venv = process.env.NBPROV_COMPAT_VENV;
const port = process.env.NBPROV_COMPAT_PORT || '8931';
if (!venv) {
  throw new Error('NBPROV_COMPAT_VENV must name the virtual environment to test (see scripts/check_install.sh)');
}

module.exports = {
  testDir: 'tests',
  reporter: [['list']],
  timeout: 120000,
  retries: 0,
  workers: 1,
  use: {
    baseURL: `http://localhost:${port}`,
    video: 'off',
    trace: 'off',
    launchOptions: { executablePath: '/usr/bin/chromium' }
  },
  webServer: {
    command: `${venv}/bin/jupyter lab --config jupyter_server_config.py --port ${port} --ServerApp.port_retries=0`,
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: false
  }
};
