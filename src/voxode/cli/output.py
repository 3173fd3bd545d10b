"""What the commands print, and how: results on stdout, progress and errors on stderr.

- :data:`out` / :data:`err`: the two consoles (rich resolves ``sys.stdout``/``sys.stderr`` when
  it prints, so test runners that swap them see the output);
- :func:`print_json`: the one way a command prints its ``--json`` summary;
- :func:`summary`: ``--json`` summary, or a line of text unless ``--quiet``;
- :func:`stages`: a spinner whose text follows a run's stages (generate, calibrate, reproduce);
- :func:`progress_bar` and :func:`case_progress`: bars on stderr (discharge, cases, folds);
- :func:`run`: the entry point's error handling, one line per error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from voxode.errors import RunFailure, VoxodeError

if TYPE_CHECKING:
    import typer
    from rich.progress import Progress, ProgressColumn

    from voxode.campaign import CaseResult

out = Console()
err = Console(stderr=True)


def _plain(value: Any) -> Any:
    """JSON's fallback: numpy scalars as plain numbers (NaN/inf as None), anything else as text."""
    from voxode.io.tables import json_safe

    safe = json_safe(value)
    return str(safe) if safe is value else safe


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (numpy scalars as numbers, paths as text).

    Parameters
    ----------
    data : JSON-ready mapping or list
        The command's summary.
    """
    sys.stdout.write(json.dumps(data, indent=2, default=_plain) + "\n")


def summary(data: Any, as_json: bool, quiet: bool, text: str) -> None:
    """Print a command's result: ``data`` as JSON with ``--json``, else ``text`` unless ``--quiet``.

    Parameters
    ----------
    data : JSON-ready mapping
        The summary printed with ``--json``.
    as_json, quiet : bool
        The command's ``--json`` and ``--quiet`` flags.
    text : str
        The human-readable summary (printed as it is, no rich highlighting).
    """
    if as_json:
        print_json(data)
    elif not quiet:
        out.print(text, highlight=False)


@contextmanager
def stages(title: str, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr whose text is a run's current stage; yields the ``on_stage`` callback.

    Parameters
    ----------
    title : str
        The spinner's text until the first stage.
    quiet : bool
        No spinner (the callback does nothing).

    Yields
    ------
    callable
        ``on_stage(message)``: show ``message`` as the spinner's text.
    """
    if quiet:
        yield lambda _message: None
        return
    with err.status(title, spinner="dots") as status:
        yield status.update


def progress_bar(label: str, *after: str | ProgressColumn, quiet: bool) -> Progress:
    """A transient progress bar on stderr: ``label``, the bar, the columns ``after`` it, then the
    elapsed time; disabled when ``quiet``.

    Parameters
    ----------
    label : str
        Text before the bar: a rich template such as ``"{task.description}"``.
    *after : str or rich ProgressColumn
        Columns after the bar; a string is a text template (``"{task.fields[status]}"``).
    quiet : bool
        Disable the bar.

    Returns
    -------
    rich.progress.Progress
        Use as a context manager; add tasks to it.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(c) if isinstance(c, str) else c for c in after]
    return Progress(
        TextColumn(label),
        BarColumn(),
        *columns,
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )


@contextmanager
def case_progress(total: int, quiet: bool) -> Iterator[Callable[[CaseResult], None]]:
    """A bar over ``total`` cases on stderr; yields the ``on_result`` callback of
    :func:`voxode.campaign.run_campaign` (and the design studies).

    Parameters
    ----------
    total : int
        Cases to run (finished ones count when they are found done).
    quiet : bool
        No bar.

    Yields
    ------
    callable
        ``on_result(case_result)``: advance the bar and show the case's status.
    """
    from rich.progress import MofNCompleteColumn

    bar = progress_bar("cases", MofNCompleteColumn(), "{task.fields[last]}", quiet=quiet)
    with bar:
        task = bar.add_task("cases", total=total, last="")

        def report(result: CaseResult) -> None:
            what = "done before" if result.skipped else result.status
            bar.update(task, advance=1, last=f"{result.case.label}: {what}")

        yield report


def run(app: typer.Typer) -> None:
    """Run ``app``: typed errors become one line on stderr and exit code 2 (usage errors too,
    via typer); a run that started but could not finish, one line and exit code 1. Under
    ``mpiexec`` every rank meets the same error and only rank 0 prints it.

    Parameters
    ----------
    app : typer.Typer
        The ``voxode`` command.
    """
    from voxode.ranks import world_rank

    try:
        app()
    except VoxodeError as exc:
        if world_rank() == 0:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except RunFailure as exc:
        if world_rank() == 0:
            err.print(f"[bold red]failed:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
