"""JupyterLab server for the compatibility smoke test: no token, the app exposed to the page as
``window.jupyterapp``, the notebooks served from a fresh temporary folder."""

import shutil
import tempfile
from pathlib import Path

root = Path(tempfile.mkdtemp(prefix="nbprov-compat-"))
shutil.copy(Path(__file__).parent / "smoke.ipynb", root)

c.ServerApp.root_dir = str(root)  # noqa: F821
c.ServerApp.open_browser = False  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821  (CI runs as root)
c.IdentityProvider.token = ""  # noqa: F821
c.ServerApp.password = ""  # noqa: F821
c.ServerApp.disable_check_xsrf = True  # noqa: F821
c.LabApp.expose_app_in_browser = True  # noqa: F821
