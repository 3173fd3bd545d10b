"""`voxode reproduce`: the paper end to end, from recipes to a report folder.

Stages, each through the public functions behind the CLI (the report gives the command that
regenerates each part); every simulation lives in one shared campaign folder ``cases/``, so a
case is computed once even when several studies need it, and a rerun or a killed run resumes:

1. training campaign (one recipe x seeds at one C-rate) -> ``dataset.parquet``;
2. surrogate ``model/`` (grouped and random validation, parity plot) and its SHAP ``shap/``;
3. the paper's analysis figures, and a new electrode (a seed outside the training set)
   simulated and predicted: end-of-discharge SOD in 3D, simulator next to surrogate;
4. design comparison (pristine / bi-layer / reverse) over seeds;
5. rate capability;
6. surrogate screening of bi-layer variants, the best ones simulated;
7. with a ``cells`` stage: the parameter set beside measured cells, every design at every
   measured rate, the rows the set was calibrated on marked *fitted* and the others
   *predicted* (``cells/``, :mod:`voxode.design.cells`);
8. ``report.md`` and ``report.html`` with every figure and our numbers beside the paper's
   (and the cells').

Presets are data (``presets/reproduce-<name>.yaml``): ``quick`` (the mini-thick-* electrodes:
the paper's thickness with miniature particles, minutes; no cells stage: its electrodes are not
the paper's cells) and ``paper`` (the paper's electrodes on the set calibrated on the pristine
cells, many hours on 2 cores).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from voxode.atomic import write_atomic, write_text_atomic
from voxode.campaign import CampaignSpec, Case, CaseResult, run_campaign
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.errors import ReproduceError
from voxode.recipe import PRESETS, load_recipe
from voxode.report import Report
from voxode.validation import load_validated

REPRODUCE_PRESETS = ("quick", "paper")
PAPER = {
    "mae": 0.042,
    "mean_relative_error": 0.073,
    "bilayer_gain_pct": 11.0,
    "ranking": [
        "tau_electrolyte",
        "volume_um3",
        "centroid_z_um",
        "active_area_um2",
        "cbd_contact_area_um2",
    ],
    "bilayer_ah_l": 450.0,
    "sod_gradient": "lower at the collector (Fig. 2B)",
}


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TrainingStage(_Stage):
    recipe: str
    n_seeds: int = Field(ge=2)
    base_seed: int = 0
    c_rate: float = Field(default=1.0, gt=0)
    holdout_seed: int = 999_999  # the new electrode: simulated and predicted, never trained on


class DesignStage(_Stage):
    recipes: list[str] = Field(min_length=2)
    seeds: int = Field(default=3, ge=1)
    c_rate: float = Field(default=1.0, gt=0)


class RateStage(_Stage):
    recipe: str
    rates: list[float] = Field(min_length=1)
    seeds: int = Field(default=1, ge=1)


class ScreenStage(_Stage):
    base: str
    samples: int = Field(default=16, ge=1)
    top_k: int = Field(default=2, ge=0)
    sampler: str = "sobol"
    parameters: dict[str, float | list[float]]


class CellsStage(_Stage):
    """The parameter set tested on measured cells: every design of ``designs`` simulated at
    every rate of ``c_rates`` and put beside the rate test ``data``."""

    data: str = "chouchane2024"  # a shipped rate test (voxode.electrochem.rate_data) or a CSV
    designs: dict[str, str] = Field(min_length=2)  # recipe -> design in data; first: reference
    fitted: list[str] = []  # designs of data whose rows calibrated the parameter set
    c_rates: list[float] = Field(min_length=1)
    seeds: int = Field(default=3, ge=1)


class ReproducePreset(_Stage):
    """What `voxode reproduce` runs (see presets/reproduce-quick.yaml)."""

    name: str
    description: str = ""
    voxel_um: float | None = Field(default=None, gt=0)
    cutoff_v: float = DEFAULT_CUTOFF_V
    params: str = DEFAULT_PARAMETER_SET  # parameter set of every simulation (name or YAML file)
    workers: int = Field(default=2, ge=1)
    folds: int = Field(default=5, ge=2)
    training: TrainingStage
    designs: DesignStage
    rate: RateStage
    screen: ScreenStage
    cells: CellsStage | None = None  # the set beside measured cells (a calibrated set's test)


def load_reproduce_preset(spec: str | Path) -> ReproducePreset:
    """A preset by name (quick, paper) or from a YAML file.

    Parameters
    ----------
    spec : str or Path
        ``quick``, ``paper`` or a YAML file.

    Returns
    -------
    ReproducePreset
        The validated preset.
    """
    if str(spec) in REPRODUCE_PRESETS:
        text = (
            resources.files("voxode.presets")
            .joinpath(f"reproduce-{spec}.yaml")
            .read_text(encoding="utf-8")
        )
        source = f"preset {spec}"
    elif Path(spec).is_file():
        text, source = Path(spec).read_text(encoding="utf-8"), str(spec)
    else:
        raise ReproduceError(
            f"unknown reproduce preset '{spec}': choose {' or '.join(REPRODUCE_PRESETS)} "
            f"or give a YAML file"
        )
    return load_validated(ReproducePreset, text, source, ReproduceError, what="a reproduce preset")


@dataclass
class Reproduction:
    """What a reproduction produced: the report files, the
    numbers beside the paper's, timings (s)."""

    report: tuple[Path, Path]
    numbers: pd.DataFrame
    timings_s: dict[str, float] = field(default_factory=dict)


def _stage(timings: dict[str, float], name: str, on_stage: Callable[[str], None] | None):
    if on_stage is not None:
        on_stage(name)
    timings[name] = time.perf_counter()


def _done(timings: dict[str, float], name: str) -> None:
    timings[name] = time.perf_counter() - timings[name]


def reproduce(
    preset: ReproducePreset,
    out_dir: Path,
    *,
    scheduler: str | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Reproduction:
    """Run every stage of ``preset`` into ``out_dir`` (resumable) and write the report.

    Parameters
    ----------
    preset : ReproducePreset
        What to run (:func:`load_reproduce_preset`).
    out_dir : Path
        Results folder (resumes a killed run).
    scheduler : str, optional
        Dask scheduler address for the simulations.
    on_stage : callable, optional
        Called with each stage's name as it starts.
    on_result : callable, optional
        Called with each case's result.

    Returns
    -------
    Reproduction
        The report files, the stage timings (s) and the numbers beside the paper's.
    """
    from voxode.design.compare import compare_designs
    from voxode.design.rate import rate_test
    from voxode.design.screen import ScreenSpace, screen
    from voxode.surrogate.dataset import build_dataset
    from voxode.surrogate.explanation import explain
    from voxode.surrogate.figures import plot_paper_figures
    from voxode.surrogate.training import train

    out_dir.mkdir(parents=True, exist_ok=True)
    cases_dir = out_dir / "cases"
    runs = {"workers": preset.workers, "scheduler": scheduler, "on_result": on_result}
    timings: dict[str, float] = {}
    report = Report(f"voxode reproduction of Chouchane et al. ({preset.name} preset)")
    if preset.description:
        report.paragraph(preset.description)
    workers_flag = f" --workers {preset.workers}"

    # 1. training campaign -> dataset
    _stage(timings, "training campaign", on_stage)
    tr = preset.training
    spec = CampaignSpec(
        name=f"{preset.name}-training",
        recipes=[_recipe_ref(tr.recipe)],
        n_seeds=tr.n_seeds,
        base_seed=tr.base_seed,
        c_rates=[tr.c_rate],
        voxel_um=preset.voxel_um,
        cutoff_v=preset.cutoff_v,
        params=preset.params,
    )
    # the campaign file is written for the report's commands; the run takes the spec itself
    write_text_atomic(
        out_dir / "training.yaml",
        yaml.safe_dump(spec.model_dump(exclude_none=True), sort_keys=False),
    )
    training_results = run_campaign(spec.cases(), cases_dir, **runs)
    dataset = build_dataset(training_results)
    write_atomic(out_dir / "dataset.parquet", lambda p: dataset.to_parquet(p, index=False))
    _done(timings, "training campaign")

    # 2. surrogate and SHAP
    _stage(timings, "surrogate", on_stage)
    trained = train(dataset, folds=preset.folds)
    trained.save(out_dir / "model")
    _done(timings, "surrogate")
    _stage(timings, "SHAP", on_stage)
    explanation = explain(trained, dataset, out_dir / "shap", folds=preset.folds)
    _done(timings, "SHAP")

    # 3. paper figures and the new electrode
    _stage(timings, "new electrode", on_stage)
    recipe = load_recipe(tr.recipe).with_overrides(seed=tr.holdout_seed, voxel_um=preset.voxel_um)
    profile = training_results[0].profile() if training_results[0].ok else None
    figures = plot_paper_figures(trained.validation, out_dir / "figures", profile, recipe.box_um[2])
    [holdout] = run_campaign(
        [Case(recipe, tr.c_rate, preset.cutoff_v, preset.params)], cases_dir, **runs
    )
    holdout_numbers = _holdout(holdout, trained, out_dir / "figures") if holdout.ok else {}
    _done(timings, "new electrode")

    # 4-6. design studies
    ds, rt, sc = preset.designs, preset.rate, preset.screen
    _stage(timings, "design comparison", on_stage)
    comparison = compare_designs(
        ds.recipes,
        ds.c_rate,
        ds.seeds,
        out_dir / "designs",
        voxel_um=preset.voxel_um,
        cutoff_v=preset.cutoff_v,
        params=preset.params,
        cases_dir=cases_dir,
        **runs,
    )
    _done(timings, "design comparison")
    _stage(timings, "rate capability", on_stage)
    rating = rate_test(
        rt.recipe,
        rt.rates,
        rt.seeds,
        out_dir / "rate",
        voxel_um=preset.voxel_um,
        cutoff_v=preset.cutoff_v,
        params=preset.params,
        cases_dir=cases_dir,
        **runs,
    )
    _done(timings, "rate capability")
    _stage(timings, "screening", on_stage)
    space = ScreenSpace(
        base=_recipe_ref(sc.base),
        model="model",
        c_rate=ds.c_rate,
        cutoff_v=preset.cutoff_v,
        samples=sc.samples,
        sampler=sc.sampler,
        top_k=sc.top_k,
        voxel_um=preset.voxel_um,
        parameters=sc.parameters,
    )
    write_text_atomic(
        out_dir / "screen.yaml",
        yaml.safe_dump(space.model_dump(exclude_none=True), sort_keys=False),
    )
    screening = screen(
        space, out_dir / "screen", out_dir, params=preset.params, cases_dir=cases_dir, **runs
    )
    _done(timings, "screening")
    cells = None
    if preset.cells is not None:
        _stage(timings, "cells", on_stage)
        cells = _cells(preset, out_dir, cases_dir, runs)
        _done(timings, "cells")

    # 8. report
    numbers = _numbers(
        trained.metrics, explanation.ranking, comparison, holdout_numbers, ds.c_rate, cells
    )
    _write_report(
        report,
        out_dir,
        preset,
        numbers,
        trained.metrics,
        comparison,
        rating,
        screening,
        figures,
        holdout_numbers,
        cells,
        timings,
        workers_flag,
    )
    write_text_atomic(out_dir / "timings.json", json.dumps(timings, indent=2) + "\n")
    return Reproduction(report.write(out_dir), numbers, timings)


def _recipe_ref(spec: str) -> str:
    """A preset name as it is, a recipe file as an absolute path (the YAML files written into
    the results folder resolve relative paths from there)."""
    return spec if spec in PRESETS else str(Path(spec).resolve())


@dataclass
class _Cells:
    """The set beside the cells: the tables of :func:`.design.cells.against_cells`, its figure."""

    capacities: pd.DataFrame
    gains: pd.DataFrame
    figure: Path


def _cells(preset: ReproducePreset, out_dir: Path, cases_dir: Path, runs: dict[str, Any]) -> _Cells:
    """Every design of the cells stage at each of its rates (cases shared with the other
    stages), beside the measured rate test; tables and figure in ``out_dir/cells``."""
    from voxode.design.cells import against_cells, plot_against_cells
    from voxode.design.compare import compare_designs
    from voxode.electrochem.rate_data import read_rate_table

    stage = preset.cells
    data = read_rate_table(stage.data)
    recipes = list(stage.designs)
    comparisons = {
        c_rate: compare_designs(
            recipes,
            c_rate,
            stage.seeds,
            _cells_dir(out_dir, c_rate),
            voxel_um=preset.voxel_um,
            cutoff_v=preset.cutoff_v,
            params=preset.params,
            cases_dir=cases_dir,
            **runs,
        )
        for c_rate in stage.c_rates
    }
    names = {load_recipe(r).name: design for r, design in stage.designs.items()}
    capacities, gains = against_cells(comparisons, names, data, stage.fitted)
    out = out_dir / "cells"
    write_atomic(out / "capacities.csv", lambda p: capacities.to_csv(p, index=False))
    write_atomic(out / "gains.csv", lambda p: gains.to_csv(p, index=False))
    return _Cells(capacities, gains, plot_against_cells(capacities, out / "cells.png"))


def _holdout(result: CaseResult, model: Any, figures_dir: Path) -> dict[str, Any]:
    """Simulated vs predicted end-of-discharge SOD of the
    new electrode, its 3D picture and timings."""
    from voxode.render import render_side_by_side
    from voxode.surrogate.prediction import predict

    electrode = result.electrode()
    started = time.perf_counter()
    predicted = predict(model, electrode, dods=(1.0,), c_rate=result.case.c_rate)
    predict_s = time.perf_counter() - started
    simulated = result.particle_sod()[["id", "sod_100"]]
    both = predicted.merge(simulated, on="id")
    inner = both[~both["border"]]
    values = np.r_[both["sod_100"], both["sod_pred"]]
    clim = (np.floor(20 * values.min()) / 20, np.ceil(20 * values.max()) / 20)  # 0.05 steps
    picture = render_side_by_side(
        electrode,
        {
            "simulator": dict(zip(both["id"], both["sod_100"], strict=True)),
            "surrogate": dict(zip(both["id"], both["sod_pred"], strict=True)),
        },
        figures_dir / "sod_3d_simulator_vs_surrogate.png",
        clim=clim,
    )
    return {
        "case": result.folder.name,
        "seed": result.case.recipe.seed,
        "particles": int(len(inner)),
        "mae_dod100": float(np.mean(np.abs(inner["sod_pred"] - inner["sod_100"]))),
        "predict_s": predict_s,
        "simulate_s": float(result.summary["wall_s"]),
        "picture": picture,
    }


def _numbers(
    metrics: dict[str, Any],
    ranking: pd.DataFrame,
    comparison: Any,
    holdout: dict[str, Any],
    c_rate: float,
    cells: _Cells | None,
) -> pd.DataFrame:
    """Our numbers beside the paper's (the paper ranks the five geometric features; DoD, an
    input here as there, is left out of that row), and beside the cells where measured."""
    from voxode.design.figures import rate_label

    grouped = metrics["grouped"]
    summary = comparison.summary.set_index("design")
    designs = list(summary.index)
    rows = [
        ("surrogate MAE, electrodes held out (grouped CV)", grouped["mae"], PAPER["mae"]),
        (
            "surrogate mean relative error (grouped CV)",
            grouped["mean_relative_error"],
            PAPER["mean_relative_error"],
        ),
        ("surrogate MAE, random split (leaky)", metrics["random"]["mae"], None),
        (
            "SHAP ranking of the geometric features",
            " > ".join(f for f in ranking["feature"] if f in PAPER["ranking"]),
            " > ".join(PAPER["ranking"]),
        ),
    ]
    if holdout:
        rows.append(("new electrode: MAE of the end-of-discharge SOD", holdout["mae_dod100"], None))
        rows.append(
            (
                "new electrode: predict / simulate time (s)",
                f"{holdout['predict_s']:.1f} / {holdout['simulate_s']:.0f}",
                "~60 / several hours",
            )
        )
    for design in designs[1:]:
        gain = summary.loc[design]
        rows.append(
            (
                f"{c_rate:g}C capacity gain of {design} over {designs[0]} (%, mean ± std)",
                _mean_std(gain["gain_mah_cm2_pct_mean"], gain["gain_mah_cm2_pct_std"], "+"),
                f"+{PAPER['bilayer_gain_pct']:g}"
                if "reverse" not in design
                else "below the bi-layer",
            )
        )
    for design in designs:
        rows.append(
            (
                f"{design}: {c_rate:g}C capacity (Ah/L of electrode)",
                summary.loc[design, "capacity_ah_l_mean"],
                f"~{PAPER['bilayer_ah_l']:g} (bi-layer, measured)"
                if "bilayer" in design and "reverse" not in design
                else None,
            )
        )
    for design in designs:
        finished = [r for r in comparison.results if r.ok and r.case.recipe.name == design]
        if finished:
            collector, _, separator = _sod_thirds(finished)
            rows.append(
                (
                    f"{design}: {c_rate:g}C end-of-discharge SOD, collector / separator third",
                    f"{collector:.2f} / {separator:.2f}",
                    PAPER["sod_gradient"] if design == designs[0] else None,
                )
            )
    if cells is not None:
        for row in cells.capacities.dropna(subset=["measured_mah_g"]).itertuples():
            rows.append(
                (
                    f"{row.design}: {rate_label(row.c_rate)} capacity (mAh/g, {row.role})",
                    _mean_std(row.simulated_mah_g_mean, row.simulated_mah_g_std),
                    f"{row.measured_mah_g:g} (cells)",
                )
            )
        for row in cells.gains.dropna(subset=["measured_gain_pct"]).itertuples():
            rows.append(
                (
                    f"{row.design}: {rate_label(row.c_rate)} gain (%, mAh/g, {row.role})",
                    _mean_std(row.simulated_gain_pct_mean, row.simulated_gain_pct_std, "+"),
                    f"{row.measured_gain_pct:+.0f} (cells)",
                )
            )
    return pd.DataFrame(rows, columns=["quantity", "voxode", "paper"])


def _cells_section(
    report: Report,
    out: Path,
    preset: ReproducePreset,
    cells: _Cells,
    vox: str,
    set_flag: str,
    workers: str,
) -> None:
    """Section 8: the parameter set beside the measured cells, fitted and predicted rows."""
    from voxode.electrochem.materials import load_parameters

    stage = preset.cells
    fitted = ", ".join(stage.fitted) or "none"
    report.heading("8. The parameter set beside the cells")
    report.paragraph(
        f"Parameter set {preset.params}: {load_parameters(preset.params).description.strip()}"
    )
    report.paragraph(
        f"Measured: rate test {stage.data}. The set was calibrated on the rows of: {fitted}. "
        "Every other row is a prediction, made without refitting: the test of the set. "
        f"Simulated: {stage.seeds} seed(s) per design and rate; the differences are "
        "simulated - measured."
    )
    report.table(cells.capacities, caption="capacities (mAh/g of NMC)")
    report.table(
        cells.gains,
        caption="capacity gain over the first design (%): the cells' and the simulated mean "
        "and std over seeds",
    )
    report.figure(cells.figure, "Measured and simulated capacities: fitted vs predicted designs")
    report.command(
        "\n".join(
            f"voxode design compare {' '.join(stage.designs)} --c-rate {c:g} "
            f"--seeds {stage.seeds}{vox}{set_flag} -o {_cells_dir(out, c)} "
            f"--cases-dir {out}/cases{workers}"
            for c in stage.c_rates
        )
    )


def _sod_thirds(results: list[CaseResult]) -> np.ndarray:
    """Mean over ``results`` (finished cases, at least one) of the end-of-discharge particle
    SOD (0 to 1, volume-weighted) in the collector, middle and separator thirds of the
    thickness."""
    from voxode.electrochem.result import depth_thirds

    thirds = []
    for r in results:
        table = r.particle_sod()
        thirds.append(
            depth_thirds(
                table["sod_100"],
                table["centroid_z_um"],
                r.case.recipe.box_um[2],
                table["volume_um3"],
            )
        )
    return np.nanmean(np.array(thirds, dtype=float), axis=0)


def _mean_std(mean: float, std: float, sign: str = "") -> str:
    """``mean ± std`` to one decimal; ``mean (one seed)`` where the std is NaN."""
    return f"{mean:{sign}.1f}" + (f" ± {std:.1f}" if np.isfinite(std) else " (one seed)")


def _cells_dir(out_dir: Path, c_rate: float) -> Path:
    """The cells stage's comparison folder at ``c_rate`` (``cells/C-2``, ``cells/1C``...)."""
    from voxode.design.figures import rate_label

    return out_dir / "cells" / rate_label(c_rate).replace("/", "-")


def _write_report(
    report: Report,
    out: Path,
    preset: ReproducePreset,
    numbers: pd.DataFrame,
    metrics: dict[str, Any],
    comparison: Any,
    rating: Any,
    screening: Any,
    figures: list[Path],
    holdout: dict[str, Any],
    cells: _Cells | None,
    timings: dict[str, float],
    workers: str,
) -> None:
    tr, ds, rt = preset.training, preset.designs, preset.rate
    vox = (f" --voxel-um {preset.voxel_um:g}" if preset.voxel_um else "") + (
        f" --cutoff-v {preset.cutoff_v:g}" if preset.cutoff_v != DEFAULT_CUTOFF_V else ""
    )
    set_flag = f" --params {preset.params}" if preset.params != DEFAULT_PARAMETER_SET else ""
    report.heading("Our numbers beside the paper's")
    report.table(numbers)
    report.paragraph(
        f"Regenerate everything: voxode reproduce --preset {preset.name} -o {out}. "
        "Each section below gives the command of its own stage."
    )

    report.heading("1. Training simulations and the per-particle dataset")
    report.paragraph(
        f"{tr.n_seeds} electrodes of {tr.recipe} (seeds {tr.base_seed} to "
        f"{tr.base_seed + tr.n_seeds - 1}) discharged at {tr.c_rate:g}C; "
        f"every particle away from the lateral faces is a data "
        "point at DoD 25/50/75/100 %."
    )
    report.command(
        f"voxode campaign {out}/training.yaml -o {out}/cases{workers}\n"
        f"voxode dataset {out}/cases --campaign {out}/training.yaml -o {out}/dataset.parquet"
    )

    report.heading("2. Surrogate (random forest) and validation")
    g, r = metrics["grouped"], metrics["random"]
    report.table(
        pd.DataFrame(
            [
                {
                    "split": g["scheme"],
                    "MAE": g["mae"],
                    "mean relative error": g["mean_relative_error"],
                    "R^2": g["r2"],
                },
                {
                    "split": r["scheme"],
                    "MAE": r["mae"],
                    "mean relative error": r["mean_relative_error"],
                    "R^2": r["r2"],
                },
            ]
        ),
        caption=f"mean relative error over rows with SOD >= "
        f"{metrics.get('relative_error_floor', 'the floor in metrics.json')}",
    )
    report.figure(
        out / "model" / "parity.png",
        "Predicted vs simulated SOD, electrodes held out (paper Fig. 1A)",
    )
    report.command(f"voxode train {out}/dataset.parquet -o {out}/model")

    report.heading("3. SHAP explanation")
    report.figure(out / "shap" / "beeswarm.png", "SHAP values of every data point (paper Fig. 2A)")
    report.figure(
        out / "shap" / "ranking.png",
        "Feature ranking: mean |SHAP| with its spread over grouped folds",
    )
    ranking = pd.read_csv(out / "shap" / "ranking.csv")
    report.table(
        ranking, caption="ranking across folds, with permutation importance as a cross-check"
    )
    report.command(f"voxode explain {out}/model {out}/dataset.parquet -o {out}/shap")

    report.heading("4. The paper's analysis figures")
    for path, caption in zip(
        figures,
        (
            "SOD (simulated and surrogate) and electrolyte tortuosity vs distance from "
            "the current collector (paper Fig. 2B)",
            "SOD of small/medium/large particles in the current-collector half (paper Fig. 2C)",
        ),
        strict=True,
    ):
        report.figure(path, caption)
    report.command(f"voxode figures {out}/model -o {out}/figures")
    if holdout:
        report.figure(
            holdout["picture"],
            f"End-of-discharge SOD of a new electrode (seed {holdout['seed']}): "
            "simulator (left) and surrogate (right) (paper Fig. 1B/C)",
        )
        report.command(
            f"voxode predict {out}/model "
            f"{out}/cases/{holdout['case']}/electrode.npz -o pred.parquet"
        )

    report.heading("5. Designs: pristine vs bi-layer vs reverse")
    report.table(
        comparison.summary[
            [
                "design",
                "n_ok",
                "capacity_mah_cm2_mean",
                "capacity_mah_cm2_std",
                "capacity_mah_g_mean",
                "capacity_ah_l_mean",
                "gain_mah_cm2_pct_mean",
                "gain_mah_cm2_pct_std",
            ]
        ],
        caption=f"{ds.c_rate:g}C, {ds.seeds} seeds",
    )
    for name, caption in (
        ("voltage.png", "Voltage vs capacity per design"),
        ("sod_depth.png", "End-of-discharge SOD vs depth per design"),
        ("gain.png", "Capacity gain over the first design, per seed"),
    ):
        if (out / "designs" / name).is_file():
            report.figure(out / "designs" / name, caption)
    report.command(
        f"voxode design compare {' '.join(ds.recipes)} --c-rate {ds.c_rate:g} "
        f"--seeds {ds.seeds}{vox}{set_flag} -o {out}/designs --cases-dir {out}/cases{workers}"
    )

    report.heading("6. Rate capability")
    report.table(
        rating.summary[
            ["rate", "n_ok", "capacity_mah_g_mean", "capacity_mah_cm2_mean", "capacity_ah_l_mean"]
        ]
    )
    report.figure(out / "rate" / "rate.png", "Capacity vs C-rate")
    report.command(
        f"voxode design rate {rt.recipe} --rates {','.join(f'{x:g}' for x in rt.rates)} "
        f"--seeds {rt.seeds}{vox}{set_flag} -o {out}/rate --cases-dir {out}/cases{workers}"
    )

    report.heading("7. Surrogate screening")
    v = screening.verification
    report.paragraph(
        f"{len(screening.designs)} designs sampled, scored by the surrogate; "
        f"the best {v['verified']} simulated: mean |relative error| of the "
        f"predicted capacity {100 * v['mean_abs_relative_error']:.1f} % (max "
        f"{100 * v['max_abs_relative_error']:.1f} %)."
    )
    top = (
        screening.designs.dropna(subset=["predicted_mah_cm2"])
        .head(10)
        .drop(columns=["error", "case"])
    )
    report.table(top, caption="best designs by predicted capacity (mAh/cm^2)")
    report.figure(
        out / "screen" / "screen.png", "Screening: predicted capacities and their simulator check"
    )
    report.command(
        f"voxode design screen {out}/screen.yaml{set_flag} -o {out}/screen "
        f"--cases-dir {out}/cases{workers}"
    )

    if cells is not None:
        _cells_section(report, out, preset, cells, vox, set_flag, workers)

    report.heading("Run time")
    report.table(
        pd.DataFrame({"stage": list(timings), "wall (s)": [round(t, 1) for t in timings.values()]})
    )
