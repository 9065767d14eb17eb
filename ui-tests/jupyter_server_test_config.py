"""JupyterLab server configuration for the galata UI tests."""
from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
# The tests run as root in CI; the server refuses to start as root without this.
c.ServerApp.allow_root = True  # noqa: F821
# The bad-input test prints 10 MB at once: lift the output rate limit, as users with big outputs do.
c.ZMQChannelsWebsocketConnection.iopub_data_rate_limit = 1e10  # noqa: F821
