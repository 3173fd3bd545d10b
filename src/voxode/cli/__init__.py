"""The ``voxode`` command: one sub-command per pipeline stage, mirroring the Python API.

This package is the only place with command-line code. Each stage has its module here
(:mod:`~voxode.cli.electrode`, :mod:`~voxode.cli.characterize`, :mod:`~voxode.cli.simulate`,
:mod:`~voxode.cli.campaign`, :mod:`~voxode.cli.surrogate`, :mod:`~voxode.cli.design`,
:mod:`~voxode.cli.reproduce`); the options they share are declared once in
:mod:`~voxode.cli.options`, what they print goes through :mod:`~voxode.cli.output`. Commands
import their stage inside the function, so ``voxode --help`` loads neither numpy's science stack
nor any optional extra.

Bad input ends with a one-line error on stderr and exit code 2 (no traceback).
"""

from __future__ import annotations

import typer

from voxode.cli import campaign, characterize, design, electrode, reproduce, simulate, surrogate
from voxode.cli.output import run

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="voxode: digital twins of thick battery electrodes.",
)
for _stage in (electrode, characterize, simulate, campaign, surrogate, design, reproduce):
    _stage.register(app)  # in pipeline order: the order of `voxode --help`


def main() -> None:
    """Entry point of the ``voxode`` command (errors in one line: see :func:`output.run`)."""
    run(app)
