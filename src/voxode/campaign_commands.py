"""CLI commands ``voxode campaign`` and ``voxode dataset`` (registered on the main app)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from voxode.campaign import CaseResult


@contextmanager
def case_progress(total: int, quiet: bool) -> Iterator[Callable[[CaseResult], None]]:
    """A progress bar over ``total`` cases on stderr; yields the ``on_result`` callback of
    :func:`voxode.campaign.run_campaign`."""
    progress = Progress(TextColumn("cases"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                        TimeElapsedColumn(), console=Console(stderr=True), disable=quiet, transient=True)
    with progress:
        task = progress.add_task("cases", total=total, last="")

        def report(result: CaseResult) -> None:
            what = "done before" if result.skipped else result.status
            progress.update(task, advance=1, last=f"{result.case.label}: {what}")

        yield report


def campaign_command(
    spec: Annotated[Path, typer.Argument(help="Campaign file (YAML): recipes, seeds or n_seeds, c_rates, ...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Campaign folder (one sub-folder per case).")],
    workers: Annotated[int, typer.Option("--workers", help="Local worker processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, "
                                                     "e.g. tcp://host:8786 (instead of local workers).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
) -> None:
    """Run a campaign: generate, characterize and discharge every case; finished cases are skipped.
    Exit code 1 when a case failed (its error is in the table and in its status.json)."""
    from voxode.campaign import load_campaign, run_campaign

    cases = load_campaign(spec)
    with case_progress(len({c.key for c in cases}), quiet) as report:
        results = run_campaign(cases, output, workers=workers, scheduler=scheduler, on_result=report)
    rows = [{"case": r.folder.name, "label": r.case.label, "status": r.status, "skipped": r.skipped,
             "error": r.error, "end_reason": r.end_reason, "capacity_mah_cm2": r.summary.get("capacity_mah_cm2"),
             "capacity_mah_g": r.summary.get("capacity_mah_g")} for r in results]
    failed = sum(r.status != "ok" for r in results)
    if as_json:
        sys.stdout.write(json.dumps({"output": str(output), "cases": rows, "failed": failed}, indent=2) + "\n")
    elif not quiet:
        from rich.table import Table

        table = Table(title=f"{output}: {len(results) - failed} ok, {failed} failed")
        for col in ("case", "label", "status", "mAh/cm^2", "mAh/g"):
            table.add_column(col)
        for row in rows:
            cap = row["capacity_mah_cm2"]
            status = row["error"] if row["status"] != "ok" else (
                "ok" if row["end_reason"] in (None, "cut-off reached") else f"ok ({row['end_reason']})")
            table.add_row(row["case"], row["label"], status,
                          f"{cap:.3f}" if cap is not None else "", f"{row['capacity_mah_g']:.1f}" if cap is not None else "")
        Console().print(table)
    if failed:
        raise typer.Exit(1)


def dataset_command(
    campaign_dir: Annotated[Path, typer.Argument(help="Campaign folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Dataset to write (.parquet or .csv).")],
    campaign: Annotated[Path | None, typer.Option(
        "--campaign", help="Only the cases of this campaign file (the folder may hold other studies' cases too).")] = None,
    include_border: Annotated[bool, typer.Option("--include-border", help="Keep particles cut by a lateral face.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
) -> None:
    """One row per (case, particle, DoD): characterization features, DoD, C-rate and simulated SOD."""
    from voxode.campaign import campaign_results, load_campaign
    from voxode.io.tables import check_table_path, write_table
    from voxode.surrogate.dataset import build_dataset

    check_table_path(output, "--output")
    results = campaign_results(campaign_dir)
    if campaign is not None:
        keys = {case.key for case in load_campaign(campaign)}
        results = [r for r in results if r.folder.name in keys]
    data = build_dataset(results, include_border=include_border)
    write_table(data, output)
    summary = {"output": str(output), "rows": len(data), "cases": int(data["case"].nunique()),
               "particles": int(data.groupby("case")["id"].nunique().sum()),
               "dods": sorted(float(d) for d in data["dod"].unique())}
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        Console().print(f"wrote {output}: {summary['rows']} rows, {summary['particles']} particles "
                        f"from {summary['cases']} cases")


def register(app: typer.Typer) -> None:
    """Add ``campaign`` and ``dataset`` to the main ``voxode`` app."""
    app.command("campaign")(campaign_command)
    app.command("dataset")(dataset_command)

