"""JupyterLab server configuration for the galata UI tests."""
from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
# The tests run as root in CI; the server refuses to start as root without this.
c.ServerApp.allow_root = True  # noqa: F821
