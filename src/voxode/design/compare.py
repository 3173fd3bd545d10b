"""Compare electrode designs at one C-rate: the paper's pristine vs bi-layer vs reverse bi-layer.

Every design is discharged on the same seeds (seed index k: one seed for all designs), so
layers with identical recipes are identical voxel for voxel between designs, as in the paper
where the bi-layer keeps the pristine separator-side half. The first design is the reference:
the gain of another design is its capacity over the reference's on the same seed, minus 1
(per seed, then mean, std, min and max over the seeds where both finished).

Each row also names the layers found identical voxel for voxel to the reference's electrode
(``shared_layers``): layers are packed from the separator down, so the bi-layer shares the
pristine separator-side half, while the reverse bi-layer (changed top) shares nothing.

Outputs in ``out_dir``: compare.csv (one row per design and seed), compare.json (that table,
the per-design summary and the study's inputs), voltage.png, sod_depth.png, gain.png
(with more than one design) and ``cases/`` (the campaign's case folders, reused on a rerun).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from voxode.campaign import Case, CaseResult, run_campaign
from voxode.design.figures import plot_gain, plot_sod_depth_groups, plot_voltage_groups
from voxode.design.study import (
    CAPACITY_COLUMNS,
    case_row,
    check_rate,
    load_designs,
    records,
    seed_list,
    spread,
    write_tables,
)
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.electrochem.result import sod_depth_profile
from voxode.electrode import Electrode
from voxode.options import check
from voxode.recipe import Recipe

GAIN_COLUMNS = tuple(f"gain_{col.removeprefix('capacity_')}_pct" for col in CAPACITY_COLUMNS)


@dataclass(frozen=True)
class Comparison:
    """A finished comparison of designs on shared seeds.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per case: design, seed, status, capacities (mAh/cm^2, mAh/g, Ah/L) and the gain
        over the first design on the same seed (%).
    summary : pandas.DataFrame
        Per design: cases ok / failed; mean, standard deviation, min and max of each capacity
        and gain.
    results : list of CaseResult
        The case results.
    files : list of Path
        Tables, the JSON summary and figures written.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    results: list[CaseResult]
    files: list[Path]


def identical_layers(electrode: Electrode, reference: Electrode) -> list[str]:
    """Names of the layers of ``electrode`` that are identical voxel for voxel to the slab of
    ``reference`` at the same planes: same phases and the same particles (ids may be numbered
    differently)."""
    if electrode.shape != reference.shape or electrode.voxel_um != reference.voxel_um:
        return []
    same = []
    for layer in electrode.layers:
        k0, k1 = (round(z / electrode.voxel_um) for z in (layer.z0_um, layer.z1_um))
        if not np.array_equal(electrode.phases[:, :, k0:k1], reference.phases[:, :, k0:k1]):
            continue
        a = electrode.particle_ids[:, :, k0:k1].ravel()
        b = reference.particle_ids[:, :, k0:k1].ravel()
        pairs = np.unique(np.stack([a, b]), axis=1)
        if pairs.shape[1] == np.unique(a).size == np.unique(b).size:  # a one-to-one relabelling
            same.append(layer.name)
    return same


def comparison_table(
    designs: Sequence[Recipe], seeds: Sequence[int], results: Sequence[Sequence[CaseResult]]
) -> pd.DataFrame:
    """One row per design and seed (``results[design][seed]``): capacities and the gains over
    the first design on the same seed (%, NaN when either case failed)."""
    rows = []
    for design, per_seed in zip(designs, results, strict=True):
        for seed, result, ref in zip(seeds, per_seed, results[0], strict=True):
            row = {"design": design.name, "seed": seed} | case_row(result)
            ref_row = case_row(ref)
            for col, gain in zip(CAPACITY_COLUMNS, GAIN_COLUMNS, strict=True):
                row[gain] = 100.0 * (row[col] / ref_row[col] - 1.0)
            rows.append(row)
    return pd.DataFrame(rows)


def shared_layers(results: Sequence[Sequence[CaseResult]]) -> list[str]:
    """Per design and seed (flattened like :func:`comparison_table`): the layers shared voxel
    for voxel with the first design's electrode of the same seed, comma-separated ("" for the
    reference and failed cases)."""
    out = []
    for per_seed in results:
        for result, ref in zip(per_seed, results[0], strict=True):
            same = []
            if result is not ref and result.ok and ref.ok:
                same = identical_layers(result.electrode(), ref.electrode())
            out.append(",".join(same))
    return out


def compare_designs(
    recipes: Sequence[str | Path | Recipe],
    c_rate: float = 1.0,
    seeds: int | Sequence[int] = 1,
    out_dir: Path = Path("compare"),
    *,
    base_seed: int | None = None,
    voxel_um: float | None = None,
    cutoff_v: float = DEFAULT_CUTOFF_V,
    params: str = DEFAULT_PARAMETER_SET,
    workers: int = 1,
    scheduler: str | None = None,
    cases_dir: Path | None = None,
    sod_bin_um: float = 5.0,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Comparison:
    """Discharge every design (preset name, recipe file or Recipe) at ``c_rate`` on each seed and
    compare them with the first design.

    ``seeds``: a count n (seeds base_seed .. base_seed + n - 1, base_seed defaulting to the first
    recipe's seed) or a list of seeds. ``voxel_um`` overrides the recipes' voxel size. Cases run
    with :func:`voxode.campaign.run_campaign` in ``cases_dir`` (default ``out_dir/cases``), so a
    rerun or another study sharing that folder reuses finished cases; failed cases are reported
    in the table (status, error) and left out of the statistics. SOD profiles use slabs of
    ``sod_bin_um`` (um).

    Parameters
    ----------
    recipes : sequence of str, Path or Recipe
        The designs; the first is the reference.
    c_rate : float
        C-rate of the discharge (1/h).
    seeds : int or sequence of int
        A count of seeds, or the seeds.
    out_dir : Path
        Study folder.
    base_seed : int, optional
        First seed (default: the first recipe's own seed).
    voxel_um : float, optional
        Voxel size (um), overrides the recipes.
    cutoff_v : float
        Cut-off voltage (V vs Li/Li+).
    params : str
        Parameter set: a shipped name or a YAML file.
    workers : int
        Local worker processes.
    scheduler : str, optional
        Dask scheduler address (instead of local workers).
    cases_dir : Path, optional
        Case folders, shared between studies.
    sod_bin_um : float
        Slab thickness (um) of the SOD profiles.
    on_result : callable, optional
        Called with each case's result.

    Returns
    -------
    Comparison
        Per-case table, per-design summary (capacities in mAh/cm^2, mAh/g, Ah/L; gain in %) and
        the files written.
    """
    check(base_seed=base_seed, voxel_um=voxel_um, cutoff_v=cutoff_v, workers=workers)
    designs = load_designs(recipes)
    c_rate = check_rate(c_rate)
    seed_values = seed_list(seeds, designs[0].seed if base_seed is None else base_seed)
    cases = [
        [
            Case(d.with_overrides(seed=s, voxel_um=voxel_um), c_rate, cutoff_v, params)
            for s in seed_values
        ]
        for d in designs
    ]
    flat = run_campaign(
        [c for row in cases for c in row],
        cases_dir or out_dir / "cases",
        workers=workers,
        scheduler=scheduler,
        on_result=on_result,
    )
    n = len(seed_values)
    results = [flat[i * n : (i + 1) * n] for i in range(len(designs))]
    table = comparison_table(designs, seed_values, results)
    table["shared_layers"] = shared_layers(results)
    summary = spread(table, "design", CAPACITY_COLUMNS + GAIN_COLUMNS)

    out_dir.mkdir(parents=True, exist_ok=True)
    names = [d.name for d in designs]
    curves = {
        name: [r.voltage() for r in per_seed if r.ok]
        for name, per_seed in zip(names, results, strict=True)
    }
    profiles = {
        name: [
            sod_depth_profile(r.particle_sod(), d.box_um[2], sod_bin_um) for r in per_seed if r.ok
        ]
        for name, d, per_seed in zip(names, designs, results, strict=True)
    }
    interfaces = sorted({z1 for d in designs for _, z1 in d.layer_bounds_um()[:-1]})
    figures = [
        plot_voltage_groups(
            curves,
            out_dir / "voltage.png",
            x="capacity_mah_cm2",
            cutoff_v=cutoff_v,
            legend_title=f"design, {c_rate:g}C",
        ),
        plot_sod_depth_groups(
            profiles, out_dir / "sod_depth.png", column="sod_100", interfaces_um=interfaces
        ),
    ]
    if len(designs) > 1:
        figures.append(
            plot_gain(
                table,
                out_dir / "gain.png",
                reference=names[0],
                column="gain_mah_cm2_pct",
                c_rate=c_rate,
            )
        )
    payload = {
        "c_rate": c_rate,
        "cutoff_v": cutoff_v,
        "params": params,
        "seeds": seed_values,
        "reference": names[0],
        "designs": records(summary),
        "cases": records(table),
        "cases_dir": str(cases_dir or out_dir / "cases"),
    }
    files = write_tables(out_dir, "compare", table, payload) + figures
    return Comparison(table, summary, [r for row in results for r in row], files)
