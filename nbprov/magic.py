"""``%%track [--name N] [--experiment E] [--param k=v ...]``: the whole cell is one run."""

from __future__ import annotations

import math
import shlex

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments


def parse_param_value(text: str) -> object:
    """``"3"`` → 3, ``"0.1"`` → 0.1, ``"true"``/``"false"`` → bool; anything else stays a string."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def parse_param(assignment: str) -> tuple[str, object]:
    key, separator, value = assignment.partition("=")
    if not separator or not key:
        raise UsageError(f"%%track: --param expects key=value, got {assignment!r}")
    return key, parse_param_value(value)


@magics_class
class TrackMagics(Magics):
    @magic_arguments()
    @argument("--name", default=None, help="run name")
    @argument("--experiment", default="default", help="experiment the run belongs to")
    @argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a run parameter (repeatable)")
    @cell_magic
    def track(self, line: str, cell: str) -> None:
        """Run the cell as one nbprov run; ``nbprov.active_run()`` inside returns it."""
        import nbprov

        try:
            argv = shlex.split(line)  # shell quoting: --name 'my run'
        except ValueError as error:
            raise UsageError(f"%%track: {error}") from None
        args = self.track.parser.parse_args(argv)
        params = dict(parse_param(assignment) for assignment in args.param)
        source = self.shell.transform_cell(cell)
        filename = self.shell.compile.cache(source)  # lets tracebacks show the cell's lines
        code = compile(source, filename, "exec")
        with nbprov.run(name=args.name, experiment=args.experiment, params=params):
            exec(code, self.shell.user_ns)
