"""``voxode reproduce``: the paper end to end, with its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxode.cli.options import AsJson, Quiet, Scheduler
from voxode.cli.output import err, out, print_json, stages


def reproduce(
    preset: Annotated[
        str,
        typer.Option(
            "--preset",
            help="quick (150 um mini-thick electrodes, minutes), paper (hours to days) or a preset "
            "YAML file.",
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Results folder (resumes a killed run).")
    ],
    scheduler: Scheduler = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """The paper end to end: campaign, surrogate + SHAP, designs, rate test, screening, report."""
    from voxode.reproduce import load_reproduce_preset
    from voxode.reproduce import reproduce as run_reproduce

    spec = load_reproduce_preset(preset)
    silent = quiet or as_json
    with stages("reproducing", silent) as show:

        def stage(name: str) -> None:
            show(f"reproduce ({spec.name}): {name}")

        def case(result) -> None:
            if not silent and not result.skipped:
                err.print(f"case {result.case.label}: {result.status}", highlight=False)

        result = run_reproduce(spec, output, scheduler=scheduler, on_stage=stage, on_result=case)
    if as_json:
        print_json(
            {
                "report": [str(p) for p in result.report],
                "timings_s": result.timings_s,
                "numbers": result.numbers.astype(str).to_dict(orient="records"),
            }
        )
    elif not quiet:
        from rich.table import Table

        from voxode.report import format_value

        table = Table(title="voxode beside the paper")
        for column in result.numbers.columns:
            table.add_column(column)
        for row in result.numbers.itertuples(index=False):
            table.add_row(*(format_value(v) for v in row))
        out.print(table)
        out.print(f"wrote {result.report[0]} and {result.report[1]}")


def register(app: typer.Typer) -> None:
    """Add ``reproduce`` to ``app``."""
    app.command("reproduce")(reproduce)
