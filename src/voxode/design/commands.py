"""CLI commands ``voxode design compare``, ``rate`` and ``screen`` (registered on the main app).

Exit code 1 when a case failed (the study's files are still written, the failure is in the
tables); bad input is a one-line error with exit code 2 (see :func:`voxode.cli.main`).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voxode.campaign_commands import case_progress
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET

design_app = typer.Typer(no_args_is_help=True, help="Design studies: compare designs, rate tests, surrogate screening.")

Output = Annotated[Path, typer.Option("--output", "-o", help="Study folder (tables, figures, cases/).")]
Seeds = Annotated[int, typer.Option("--seeds", help="Seeds (stochastic electrodes) per design and rate.")]
BaseSeed = Annotated[int | None, typer.Option("--base-seed", help="First seed (default: the recipe's own seed).")]
VoxelUm = Annotated[float | None, typer.Option("--voxel-um", help="Voxel size (um), overrides the recipes.")]
CutoffV = Annotated[float, typer.Option("--cutoff-v", help="Cut-off voltage (V).")]
Params = Annotated[str, typer.Option("--params", help="Parameter set (name or YAML file).")]
Workers = Annotated[int, typer.Option("--workers", help="Local worker processes.")]
Scheduler = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786.")]
CasesDir = Annotated[Path | None, typer.Option("--cases-dir", help="Case folders, shared between studies "
                                                  "(default: OUTPUT/cases).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the study's JSON summary on stdout.")]


def _fmt(mean: float, std: float, digits: int) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if not math.isnan(std) else "")


def _finish(summary: Any, key: str, title: str, columns: dict[str, tuple[str, int]], files: list[Path],
            table: Any, quiet: bool, as_json: bool) -> None:
    """Print the per-group summary (or the JSON file), then exit 1 when a case failed."""
    if as_json:
        payload = json.loads(files[1].read_text(encoding="utf-8")) | {"files": [str(f) for f in files]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif not quiet:
        out = Table(title=title)
        for head in [key, "ok / failed", *columns]:
            out.add_column(head)
        for _, row in summary.iterrows():
            out.add_row(str(row[key]), f"{row['n_ok']} / {row['n_failed']}",
                        *(_fmt(row[f"{col}_mean"], row[f"{col}_std"], d) for col, d in columns.values()))
        console = Console()
        console.print(out)
        for _, row in table[table["status"] != "ok"].iterrows():
            console.print(f"[red]failed[/]: {row['case']} ({row.get('design', '')} seed {row['seed']}): "
                          f"{escape(str(row['error']))}", highlight=False)
        console.print("wrote " + ", ".join(str(f) for f in files), highlight=False)
    if (table["status"] != "ok").any():
        raise typer.Exit(1)


@design_app.command("compare")
def compare_command(
    recipes: Annotated[list[str], typer.Argument(help="Designs: presets or recipe files; the first is the reference.")],
    output: Output,
    c_rate: Annotated[float, typer.Option("--c-rate", help="C-rate of the discharge.")] = 1.0,
    seeds: Seeds = 1, base_seed: BaseSeed = None, voxel_um: VoxelUm = None, cutoff_v: CutoffV = DEFAULT_CUTOFF_V,
    params: Params = DEFAULT_PARAMETER_SET, workers: Workers = 1, scheduler: Scheduler = None,
    cases_dir: CasesDir = None, quiet: Quiet = False, as_json: AsJson = False,
) -> None:
    """Compare designs at one C-rate on shared seeds: capacity, gain over the first design, SOD vs depth."""
    from voxode.design.compare import compare_designs

    with case_progress(len(recipes) * max(seeds, 1), quiet or as_json) as report:
        result = compare_designs(recipes, c_rate, seeds, output, base_seed=base_seed, voxel_um=voxel_um,
                                 cutoff_v=cutoff_v, params=params, workers=workers, scheduler=scheduler,
                                 cases_dir=cases_dir, on_result=report)
    _finish(result.summary, "design", f"{output}: {c_rate:g}C, gain over {recipes[0]}",
            {"mAh/cm^2": ("capacity_mah_cm2", 3), "mAh/g": ("capacity_mah_g", 1), "Ah/L": ("capacity_ah_l", 0),
             "gain (%)": ("gain_mah_cm2_pct", 2)}, result.files, result.table, quiet, as_json)


@design_app.command("rate")
def rate_command(
    recipe: Annotated[str, typer.Argument(help="Design: a preset or a recipe file.")],
    output: Output,
    rates: Annotated[str, typer.Option("--rates", help="C-rates, comma-separated.")] = "0.1,0.2,0.5,1",
    experimental: Annotated[Path | None, typer.Option("--experimental", help="Measured capacities (CSV: rate, "
                                                         "cell, capacity_mah_g), drawn as mean with min-max bars.")] = None,
    seeds: Seeds = 1, base_seed: BaseSeed = None, voxel_um: VoxelUm = None, cutoff_v: CutoffV = DEFAULT_CUTOFF_V,
    params: Params = DEFAULT_PARAMETER_SET, workers: Workers = 1, scheduler: Scheduler = None,
    cases_dir: CasesDir = None, quiet: Quiet = False, as_json: AsJson = False,
) -> None:
    """Rate test of one design: capacity (mAh/g, mAh/cm^2, Ah/L) vs C-rate, V vs capacity per rate."""
    from voxode.design.rate import parse_rates, rate_test

    rate_values = parse_rates(rates)
    with case_progress(len(rate_values) * max(seeds, 1), quiet or as_json) as report:
        result = rate_test(recipe, rate_values, seeds, output, experimental=experimental, base_seed=base_seed,
                           voxel_um=voxel_um, cutoff_v=cutoff_v, params=params, workers=workers,
                           scheduler=scheduler, cases_dir=cases_dir, on_result=report)
    _finish(result.summary, "rate", f"{output}: rate test of {recipe}",
            {"mAh/g": ("capacity_mah_g", 1), "mAh/cm^2": ("capacity_mah_cm2", 3), "Ah/L": ("capacity_ah_l", 0)},
            result.files, result.table, quiet, as_json)


@design_app.command("screen")
def screen_command(
    space: Annotated[Path, typer.Argument(help="Screening file (YAML): base recipe, surrogate model, "
                                          "parameter ranges, samples, top_k.")],
    output: Output,
    params: Params = DEFAULT_PARAMETER_SET, workers: Workers = 1, scheduler: Scheduler = None,
    cases_dir: CasesDir = None, quiet: Quiet = False, as_json: AsJson = False,
) -> None:
    """Score sampled designs with the surrogate, simulate the best: predicted vs simulated capacity."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from voxode.design.screen import load_space, screen

    spec, folder = load_space(space)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), disable=quiet or as_json, transient=True)
    with progress:
        scoring = progress.add_task("scoring designs", total=spec.samples)
        verifying = progress.add_task("simulating the best", total=spec.top_k)
        result = screen(spec, output, folder, params=params, workers=workers, scheduler=scheduler,
                        cases_dir=cases_dir, on_design=lambda done, _: progress.update(scoring, completed=done),
                        on_result=lambda _: progress.update(verifying, advance=1))
    table = result.designs
    if as_json:
        payload = json.loads(result.files[1].read_text(encoding="utf-8")) | {"files": [str(f) for f in result.files]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif not quiet:
        out = Table(title=f"{output}: best of {len(table)} designs at {spec.c_rate:g}C")
        for head in ("rank", "design", "predicted mAh/cm^2", "simulated mAh/cm^2", "error (%)"):
            out.add_column(head)
        for _, row in table.dropna(subset=["predicted_mah_cm2"]).head(max(spec.top_k, 5)).iterrows():
            sim = row["simulated_mah_cm2"]
            err = "" if math.isnan(sim) else f"{100 * (row['predicted_mah_cm2'] - sim) / sim:+.1f}"
            out.add_row(f"{row['rank']:.0f}", row["design"], f"{row['predicted_mah_cm2']:.3f}",
                        "" if math.isnan(sim) else f"{sim:.3f}", err)
        console = Console()
        console.print(out)
        for _, row in table[table["error"] != ""].iterrows():
            console.print(f"[red]failed[/]: {row['design']}: {escape(str(row['error']))}", highlight=False)
        console.print("wrote " + ", ".join(str(f) for f in result.files), highlight=False)
    if (table["case"].astype(bool) & table["simulated_mah_cm2"].isna()).any():
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``design`` (compare, rate, screen) to the main ``voxode`` app."""
    app.add_typer(design_app, name="design")
