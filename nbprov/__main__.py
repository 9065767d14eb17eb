"""``nbprov`` / ``python -m nbprov``: the command line (``export``, ``restore``), run by the bundled Node CLI."""

from __future__ import annotations

import subprocess
import sys

from .export import cli_command


def main() -> int:
    try:
        command = cli_command(*sys.argv[1:])
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
