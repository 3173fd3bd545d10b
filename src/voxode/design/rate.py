"""Rate test of one design: delivered capacity at several C-rates (C/10 .. 1C in the paper),
in mAh/g_NMC, mAh/cm^2 and Ah/L of electrode, optionally next to measured cells.

Each rate is discharged on the same seeds (the same electrodes). Outputs in ``out_dir``:
rate.csv (one row per rate and seed), rate.json (that table, the per-rate summary, the
experimental summary and the inputs), rate.png (capacity vs C-rate), rate_voltage.png (V vs
capacity per rate) and ``cases/`` (the campaign's case folders, reused on a rerun).

The experimental CSV has one row per measured cell and rate: columns ``rate`` (C-rate),
``cell`` (a name or number) and ``capacity_mah_g`` (mAh/g_NMC); it is drawn as the mean over
cells with min-max bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps

from voxode.campaign import Case, CaseResult, run_campaign
from voxode.design.figures import plot_rate_capability, plot_voltage_groups, rate_label
from voxode.design.study import (
    CAPACITY_COLUMNS,
    DesignError,
    case_row,
    check_rate,
    load_designs,
    records,
    seed_list,
    spread,
    write_tables,
)
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.options import check
from voxode.recipe import Recipe

EXPERIMENT_COLUMNS = ("rate", "cell", "capacity_mah_g")


@dataclass(frozen=True)
class RateTest:
    """A finished rate test of one design.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per case: rate (C-rate, 1/h), seed, status, capacities (mAh/g, mAh/cm^2, Ah/L).
    summary : pandas.DataFrame
        Per rate: cases ok / failed; mean, standard deviation, min and max of each capacity.
    experimental : pandas.DataFrame or None
        The measured cells' per-rate summary (mAh/g), when given.
    results : list of CaseResult
        The case results.
    files : list of Path
        Tables, the JSON summary and figures written.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    experimental: pd.DataFrame | None
    results: list[CaseResult]
    files: list[Path]


def parse_rates(text: str) -> list[float]:
    """C-rates from a comma-separated list ("0.1,0.2,0.5,1"); each must be a positive number."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise DesignError("--rates is empty: give C-rates separated by commas, e.g. 0.1,0.2,0.5,1")
    rates = []
    for part in parts:
        try:
            rates.append(float(part))
        except ValueError:
            raise DesignError(
                f"--rates: '{part}' is not a number (give C-rates as numbers, e.g. 0.1 for C/10)"
            ) from None
    return rates


def check_rates(rates: Sequence[float]) -> list[float]:
    """Positive, distinct C-rates, sorted ascending."""
    if not rates:
        raise DesignError("no C-rate given: give at least one, e.g. 0.1,0.2,0.5,1")
    values = [check_rate(r, "every C-rate") for r in rates]
    if len(set(values)) != len(values):
        raise DesignError(f"C-rates must be distinct, got {values}")
    return sorted(values)


def read_experimental(path: Path) -> pd.DataFrame:
    """Measured capacities: one row per cell and rate (columns rate, cell, capacity_mah_g)."""
    if not Path(path).is_file():
        raise DesignError(f"experimental file not found: {path}")
    try:
        data = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DesignError(
            f"{path}: not a readable CSV: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    return check_experimental(data, str(path))


def check_experimental(data: pd.DataFrame, source: str = "experimental data") -> pd.DataFrame:
    """The columns rate (positive), cell and capacity_mah_g
    (non-negative) of measured data, checked."""
    data = data.copy()
    missing = [c for c in EXPERIMENT_COLUMNS if c not in data.columns]
    if missing:
        raise DesignError(
            f"{source}: missing column(s) {', '.join(missing)}: the experimental CSV needs "
            f"{', '.join(EXPERIMENT_COLUMNS)}"
        )
    if data.empty:
        raise DesignError(f"{source}: no rows: give one row per cell and rate")
    for col in ("rate", "capacity_mah_g"):
        values = pd.to_numeric(data[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values) | (values <= 0 if col == "rate" else values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DesignError(
                f"{source}: data row {row + 1}: {col} must be a "
                f"{'positive' if col == 'rate' else 'non-negative'} number, "
                f"got '{data[col].iloc[row]}'"
            )
        data[col] = values.astype(float)
    data["cell"] = data["cell"].astype(str)
    return data[list(EXPERIMENT_COLUMNS)]


def experiment_summary(data: pd.DataFrame) -> pd.DataFrame:
    """Per rate (ascending): cells, mean, std, min and max of capacity_mah_g."""
    grouped = data.groupby("rate", sort=True)["capacity_mah_g"]
    out = grouped.agg(["count", "mean", "std", "min", "max"]).reset_index()
    return out.rename(
        columns={"count": "cells"}
        | {s: f"capacity_mah_g_{s}" for s in ("mean", "std", "min", "max")}
    )


def rate_test(
    recipe: str | Path | Recipe,
    rates: Sequence[float],
    seeds: int | Sequence[int] = 1,
    out_dir: Path = Path("rate"),
    *,
    experimental: Path | pd.DataFrame | None = None,
    base_seed: int | None = None,
    voxel_um: float | None = None,
    cutoff_v: float = DEFAULT_CUTOFF_V,
    params: str = DEFAULT_PARAMETER_SET,
    workers: int = 1,
    scheduler: str | None = None,
    cases_dir: Path | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> RateTest:
    """Discharge one design (preset name, recipe file or Recipe) at every C-rate on each seed.

    ``seeds`` and ``voxel_um`` as in :func:`voxode.design.compare.compare_designs`.
    ``experimental``: a CSV path or a frame with columns rate, cell, capacity_mah_g (read and
    checked before any simulation). Failed cases are reported in the table and left out of the
    statistics.

    Parameters
    ----------
    recipe : str, Path or Recipe
        The design.
    rates : sequence of float
        C-rates (1/h).
    seeds : int or sequence of int
        A count of seeds, or the seeds.
    out_dir : Path
        Study folder.
    experimental : Path or pandas.DataFrame, optional
        Measured capacities (rate, cell, capacity_mah_g).
    base_seed, voxel_um, cutoff_v, params, workers, scheduler, cases_dir
        As in :func:`~voxode.design.compare.compare_designs` (voxel size in um, cut-off in V).
    on_result : callable, optional
        Called with each case's result.

    Returns
    -------
    RateTest
        Per-case table, per-rate summary (capacities in mAh/g, mAh/cm^2, Ah/L) and the files
        written.
    """
    check(base_seed=base_seed, voxel_um=voxel_um, cutoff_v=cutoff_v, workers=workers)
    design = load_designs([recipe])[0]
    rate_values = check_rates(rates)
    measured = None
    if experimental is not None:
        measured = experiment_summary(
            read_experimental(experimental)
            if isinstance(experimental, (str, Path))
            else check_experimental(experimental)
        )
    seed_values = seed_list(seeds, design.seed if base_seed is None else base_seed)
    cases = [
        Case(design.with_overrides(seed=s, voxel_um=voxel_um), r, cutoff_v, params)
        for r in rate_values
        for s in seed_values
    ]
    results = run_campaign(
        cases,
        cases_dir or out_dir / "cases",
        workers=workers,
        scheduler=scheduler,
        on_result=on_result,
    )
    table = pd.DataFrame(
        [
            {"design": design.name, "rate": case.c_rate, "seed": case.recipe.seed}
            | case_row(result)
            for case, result in zip(cases, results, strict=True)
        ]
    )
    summary = spread(table, "rate", CAPACITY_COLUMNS)

    out_dir.mkdir(parents=True, exist_ok=True)
    colors = colormaps["viridis"](np.linspace(0.0, 0.85, len(rate_values)))
    n = len(seed_values)
    curves = {
        rate_label(r): [res.voltage() for res in results[k * n : (k + 1) * n] if res.ok]
        for k, r in enumerate(rate_values)
    }
    figures = [
        plot_rate_capability(
            summary,
            out_dir / "rate.png",
            name=design.name,
            thickness_um=design.box_um[2],
            experimental=measured,
        ),
        plot_voltage_groups(
            curves,
            out_dir / "rate_voltage.png",
            x="capacity_mah_g",
            cutoff_v=cutoff_v,
            legend_title=f"{design.name}, C-rate",
            colors=colors,
        ),
    ]
    payload = {
        "design": design.name,
        "rates": rate_values,
        "cutoff_v": cutoff_v,
        "params": params,
        "seeds": seed_values,
        "summary": records(summary),
        "cases": records(table),
        "experimental": records(measured) if measured is not None else None,
        "cases_dir": str(cases_dir or out_dir / "cases"),
    }
    files = write_tables(out_dir, "rate", table, payload) + figures
    return RateTest(table, summary, measured, results, files)
