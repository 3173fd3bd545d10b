"""Commands of the campaign stage: ``campaign`` and ``dataset``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxode.cli.options import AsJson, Quiet, Scheduler, Workers
from voxode.cli.output import case_progress, out, print_json, summary


def campaign(
    spec: Annotated[
        Path, typer.Argument(help="Campaign file (YAML): recipes, seeds or n_seeds, c_rates, ...")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Campaign folder (one sub-folder per case).")
    ],
    workers: Workers = 1,
    scheduler: Scheduler = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Run a campaign: generate, characterize and discharge every case (finished ones skipped).

    Exit code 1 when a case failed (its error is in the table and in its status.json).
    """
    from voxode.campaign import load_campaign, run_campaign

    cases = load_campaign(spec)
    with case_progress(len({c.key for c in cases}), quiet) as report:
        results = run_campaign(
            cases, output, workers=workers, scheduler=scheduler, on_result=report
        )
    rows = [
        {
            "case": r.folder.name,
            "label": r.case.label,
            "status": r.status,
            "skipped": r.skipped,
            "error": r.error,
            "end_reason": r.end_reason,
            "capacity_mah_cm2": r.summary.get("capacity_mah_cm2"),
            "capacity_mah_g": r.summary.get("capacity_mah_g"),
        }
        for r in results
    ]
    failed = sum(r.status != "ok" for r in results)
    if as_json:
        print_json({"output": str(output), "cases": rows, "failed": failed})
    elif not quiet:
        from rich.table import Table

        table = Table(title=f"{output}: {len(results) - failed} ok, {failed} failed")
        for col in ("case", "label", "status", "mAh/cm^2", "mAh/g"):
            table.add_column(col)
        for row in rows:
            cap = row["capacity_mah_cm2"]
            ended = row["end_reason"] in (None, "cut-off reached")
            status = (
                row["error"]
                if row["status"] != "ok"
                else ("ok" if ended else f"ok ({row['end_reason']})")
            )
            table.add_row(
                row["case"],
                row["label"],
                status,
                f"{cap:.3f}" if cap is not None else "",
                f"{row['capacity_mah_g']:.1f}" if cap is not None else "",
            )
        out.print(table)
    if failed:
        raise typer.Exit(1)


def dataset(
    campaign_dir: Annotated[Path, typer.Argument(help="Campaign folder.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Dataset to write (.parquet or .csv).")
    ],
    campaign: Annotated[
        Path | None,
        typer.Option(
            "--campaign",
            help=(
                "Only the cases of this campaign file (the folder may hold other studies' cases "
                "too)."
            ),
        ),
    ] = None,
    include_border: Annotated[
        bool, typer.Option("--include-border", help="Keep particles cut by a lateral face.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """One row per (case, particle, DoD): characterization features, C-rate, simulated SOD."""
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
    made = {
        "output": str(output),
        "rows": len(data),
        "cases": int(data["case"].nunique()),
        "particles": int(data.groupby("case")["id"].nunique().sum()),
        "dods": sorted(float(d) for d in data["dod"].unique()),
    }
    summary(
        made,
        as_json,
        False,
        f"wrote {output}: {made['rows']} rows, {made['particles']} "
        f"particles from {made['cases']} cases",
    )


def register(app: typer.Typer) -> None:
    """Add ``campaign`` and ``dataset`` to ``app``."""
    app.command("campaign")(campaign)
    app.command("dataset")(dataset)
