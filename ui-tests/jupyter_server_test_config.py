"""JupyterLab server configuration for the galata UI tests."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
# The tests run as root in CI; the server refuses to start as root without this.
c.ServerApp.allow_root = True  # noqa: F821
# The iopub rate limits stay at the server's defaults (1,000 messages/s, 1 MB/s of stream output,
# over 3 s), as most users have them: sweep.spec.ts checks that nbprov's stream fits under them.
