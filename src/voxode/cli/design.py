"""Commands of the design stage: ``voxode design compare``, ``rate`` and ``screen``.

Exit code 1 when a case failed (the study's files are still written, the failure is in the
tables); bad input is a one-line error with exit code 2 (see :func:`voxode.cli.output.run`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from voxode.cli.options import (
    DEFAULT_CUTOFF_V,
    DEFAULT_PARAMETER_SET,
    AsJson,
    BaseSeed,
    CasesDir,
    CutoffV,
    Params,
    Quiet,
    Scheduler,
    Seeds,
    VoxelUm,
    Workers,
)
from voxode.cli.output import case_progress, out, print_json, progress_bar

design_app = typer.Typer(
    no_args_is_help=True, help="Design studies: compare designs, rate tests, surrogate screening."
)

Output = Annotated[
    Path, typer.Option("--output", "-o", help="Study folder (tables, figures, cases/).")
]


def _fmt(mean: float, std: float, digits: int) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if not math.isnan(std) else "")


def _print_files(files: list[Path], as_json: bool) -> bool:
    """With --json, print the study's JSON summary (its second file) and the files; True if so."""
    if as_json:
        summary = json.loads(files[1].read_text(encoding="utf-8"))
        print_json(summary | {"files": [str(f) for f in files]})
    return as_json


def _finish(
    summary: Any,
    key: str,
    title: str,
    columns: dict[str, tuple[str, int]],
    files: list[Path],
    table: Any,
    quiet: bool,
    as_json: bool,
) -> None:
    """Print the per-group summary (or the JSON file), then exit 1 when a case failed."""
    from rich.table import Table

    if not _print_files(files, as_json) and not quiet:
        shown = Table(title=title)
        for head in [key, "ok / failed", *columns]:
            shown.add_column(head)
        for _, row in summary.iterrows():
            shown.add_row(
                str(row[key]),
                f"{row['n_ok']} / {row['n_failed']}",
                *(_fmt(row[f"{col}_mean"], row[f"{col}_std"], d) for col, d in columns.values()),
            )
        out.print(shown)
        for _, row in table[table["status"] != "ok"].iterrows():
            out.print(
                f"[red]failed[/]: {row['case']} ({row.get('design', '')} seed "
                f"{row['seed']}): {escape(str(row['error']))}",
                highlight=False,
            )
        out.print("wrote " + ", ".join(str(f) for f in files), highlight=False)
    if (table["status"] != "ok").any():
        raise typer.Exit(1)


@design_app.command("compare")
def compare(
    recipes: Annotated[
        list[str],
        typer.Argument(help="Designs: presets or recipe files; the first is the reference."),
    ],
    output: Output,
    c_rate: Annotated[float, typer.Option("--c-rate", help="C-rate of the discharge.")] = 1.0,
    seeds: Seeds = 1,
    base_seed: BaseSeed = None,
    voxel_um: VoxelUm = None,
    cutoff_v: CutoffV = DEFAULT_CUTOFF_V,
    params: Params = DEFAULT_PARAMETER_SET,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    cases_dir: CasesDir = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Compare designs at one C-rate on shared seeds: capacity, gain, SOD vs depth.

    The gain is over the first design.
    """
    from voxode.design.compare import compare_designs

    with case_progress(len(recipes) * max(seeds, 1), quiet or as_json) as report:
        result = compare_designs(
            recipes,
            c_rate,
            seeds,
            output,
            base_seed=base_seed,
            voxel_um=voxel_um,
            cutoff_v=cutoff_v,
            params=params,
            workers=workers,
            scheduler=scheduler,
            cases_dir=cases_dir,
            on_result=report,
        )
    _finish(
        result.summary,
        "design",
        f"{output}: {c_rate:g}C, gain over {recipes[0]}",
        {
            "mAh/cm^2": ("capacity_mah_cm2", 3),
            "mAh/g": ("capacity_mah_g", 1),
            "Ah/L": ("capacity_ah_l", 0),
            "gain (%)": ("gain_mah_cm2_pct", 2),
        },
        result.files,
        result.table,
        quiet,
        as_json,
    )


@design_app.command("rate")
def rate(
    recipe: Annotated[str, typer.Argument(help="Design: a preset or a recipe file.")],
    output: Output,
    rates: Annotated[
        str, typer.Option("--rates", help="C-rates, comma-separated.")
    ] = "0.1,0.2,0.5,1",
    experimental: Annotated[
        Path | None,
        typer.Option(
            "--experimental",
            help=(
                "Measured capacities (CSV: rate, cell, capacity_mah_g), drawn as mean with min-max "
                "bars."
            ),
        ),
    ] = None,
    seeds: Seeds = 1,
    base_seed: BaseSeed = None,
    voxel_um: VoxelUm = None,
    cutoff_v: CutoffV = DEFAULT_CUTOFF_V,
    params: Params = DEFAULT_PARAMETER_SET,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    cases_dir: CasesDir = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Rate test of one design: capacity vs C-rate, voltage vs capacity per rate.

    Capacities in mAh/g, mAh/cm^2 and Ah/L.
    """
    from voxode.design.rate import parse_rates, rate_test

    rate_values = parse_rates(rates)
    with case_progress(len(rate_values) * max(seeds, 1), quiet or as_json) as report:
        result = rate_test(
            recipe,
            rate_values,
            seeds,
            output,
            experimental=experimental,
            base_seed=base_seed,
            voxel_um=voxel_um,
            cutoff_v=cutoff_v,
            params=params,
            workers=workers,
            scheduler=scheduler,
            cases_dir=cases_dir,
            on_result=report,
        )
    _finish(
        result.summary,
        "rate",
        f"{output}: rate test of {recipe}",
        {
            "mAh/g": ("capacity_mah_g", 1),
            "mAh/cm^2": ("capacity_mah_cm2", 3),
            "Ah/L": ("capacity_ah_l", 0),
        },
        result.files,
        result.table,
        quiet,
        as_json,
    )


@design_app.command("screen")
def screen(
    space: Annotated[
        Path,
        typer.Argument(
            help="Screening file (YAML): base recipe, surrogate "
            "model, parameter ranges, samples, top_k."
        ),
    ],
    output: Output,
    params: Params = DEFAULT_PARAMETER_SET,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    cases_dir: CasesDir = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Score sampled designs with the surrogate, simulate the best: predicted vs simulated."""
    from rich.progress import MofNCompleteColumn
    from rich.table import Table

    from voxode.design.screen import load_space
    from voxode.design.screen import screen as run_screen

    spec, folder = load_space(space)
    with progress_bar("{task.description}", MofNCompleteColumn(), quiet=quiet or as_json) as bar:
        scoring = bar.add_task("scoring designs", total=spec.samples)
        verifying = bar.add_task("simulating the best", total=spec.top_k)
        result = run_screen(
            spec,
            output,
            folder,
            params=params,
            workers=workers,
            scheduler=scheduler,
            cases_dir=cases_dir,
            on_design=lambda done, _: bar.update(scoring, completed=done),
            on_result=lambda _: bar.update(verifying, advance=1),
        )
    table = result.designs
    if not _print_files(result.files, as_json) and not quiet:
        shown = Table(title=f"{output}: best of {len(table)} designs at {spec.c_rate:g}C")
        for head in ("rank", "design", "predicted mAh/cm^2", "simulated mAh/cm^2", "error (%)"):
            shown.add_column(head)
        best = table.dropna(subset=["predicted_mah_cm2"]).head(max(spec.top_k, 5))
        for _, row in best.iterrows():
            sim = row["simulated_mah_cm2"]
            off = 100 * (row["predicted_mah_cm2"] - sim) / sim
            error = "" if math.isnan(sim) else f"{off:+.1f}"
            shown.add_row(
                f"{row['rank']:.0f}",
                row["design"],
                f"{row['predicted_mah_cm2']:.3f}",
                "" if math.isnan(sim) else f"{sim:.3f}",
                error,
            )
        out.print(shown)
        for _, row in table[table["error"] != ""].iterrows():
            out.print(
                f"[red]failed[/]: {row['design']}: {escape(str(row['error']))}", highlight=False
            )
        out.print("wrote " + ", ".join(str(f) for f in result.files), highlight=False)
    if (table["case"].astype(bool) & table["simulated_mah_cm2"].isna()).any():
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``design`` (compare, rate, screen) to ``app``."""
    app.add_typer(design_app, name="design")
