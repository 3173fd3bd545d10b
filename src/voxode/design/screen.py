"""Surrogate screening of electrode designs: sample a space of recipe parameters, score every
design with the surrogate in seconds, verify the best few with the simulator.

A design's predicted capacity follows from the predicted end-of-discharge SOD of all its
particles (border particles included: together they hold all the NMC): the Li they take up is
sum_p V_p SOD_p (1 - x0) c_max, and the delivered charge equals it (a discharge conserves Li).

The space (YAML, see :class:`ScreenSpace`) varies a two-layer base recipe (layers[0] is the
current-collector side):

- ``layer_split``: thickness fraction of the collector-side layer;
- ``shrunk_fraction``: mass fraction of the smaller population in the collector-side layer;
- ``shrink_factor``: its size scale (diameter relative to the pristine particles);
- ``porosity_collector``, ``porosity_separator``: total porosity of each layer.

Each is a ``[low, high]`` range (sampled) or a single value (fixed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.stats import qmc

from voxode.campaign import Case, CaseResult, run_campaign
from voxode.design.study import check_rate, records, write_tables
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.electrochem.materials import FARADAY_C_MOL, load_parameters
from voxode.errors import DesignError, VoxodeError
from voxode.generate import generate
from voxode.recipe import Recipe, load_recipe, recipe_from_dict
from voxode.surrogate.prediction import as_model, predict
from voxode.validation import load_validated

PARAMETERS = (
    "layer_split",
    "shrunk_fraction",
    "shrink_factor",
    "porosity_collector",
    "porosity_separator",
)


class ScreenSpace(BaseModel):
    """A screening: the base recipe, the parameter ranges, the sampler and the verification."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    base: str = "paper-bilayer"
    model: str  # surrogate folder (voxode train)
    c_rate: float = 1.0
    cutoff_v: float = DEFAULT_CUTOFF_V
    samples: int = Field(default=16, ge=1)
    sampler: str = "sobol"
    seed: int = 0  # sampler seed
    electrode_seed: int | None = None  # electrode seed of every design (default: the base's)
    voxel_um: float | None = Field(default=None, gt=0)
    top_k: int = Field(default=3, ge=0)
    parameters: dict[str, float | list[float]] = Field(min_length=1)

    @field_validator("sampler")
    @classmethod
    def _sampler(cls, name: str) -> str:
        if name not in ("sobol", "lhs"):
            raise ValueError(f"sampler must be sobol or lhs, got {name!r}")
        return name

    @field_validator("parameters")
    @classmethod
    def _ranges(cls, params: dict[str, float | list[float]]) -> dict[str, float | list[float]]:
        for name, value in params.items():
            if name not in PARAMETERS:
                raise ValueError(f"unknown parameter {name!r}: choose from {', '.join(PARAMETERS)}")
            if isinstance(value, list) and (len(value) != 2 or value[0] > value[1]):
                raise ValueError(f"{name}: give [low, high] with low <= high, got {value}")
        return params


def load_space(path: Path) -> tuple[ScreenSpace, Path]:
    """A screening file and its folder (relative model and recipe paths are read from there)."""
    if not path.is_file():
        raise DesignError(f"screening file not found: {path}")
    return load_validated(
        ScreenSpace,
        path.read_text(encoding="utf-8"),
        str(path),
        DesignError,
        what="a screening file",
    ), path.parent


def sample(space: ScreenSpace) -> pd.DataFrame:
    """``samples`` points of the space (Sobol or Latin hypercube), one column per parameter."""
    ranged = [k for k, v in space.parameters.items() if isinstance(v, list)]
    points = np.zeros((space.samples, 0))
    if ranged:
        if space.sampler == "sobol":  # the first n points of a 2^m scrambled Sobol sequence
            unit = qmc.Sobol(len(ranged), seed=space.seed).random_base2(
                int(np.ceil(np.log2(space.samples)))
            )
            unit = unit[: space.samples]
        else:
            unit = qmc.LatinHypercube(len(ranged), seed=space.seed).random(space.samples)
        low = np.array([space.parameters[k][0] for k in ranged])
        high = np.array([space.parameters[k][1] for k in ranged])
        points = low + unit * (high - low)
    frame = pd.DataFrame(points, columns=ranged)
    for name, value in space.parameters.items():
        if not isinstance(value, list):
            frame[name] = float(value)
    return frame[[k for k in PARAMETERS if k in frame.columns]]


def design_recipe(base: Recipe, values: dict[str, float], name: str) -> Recipe:
    """The base recipe with the screening parameters applied (validated)."""
    if len(base.layers) != 2:
        raise DesignError(
            f"screening varies a two-layer recipe (collector side, separator side); "
            f"'{base.name}' has {len(base.layers)} layers"
        )
    data = base.model_dump(mode="json")
    data["name"] = name
    bottom, top = data["layers"]
    if "layer_split" in values:
        bottom["thickness_fraction"] = values["layer_split"]
        top["thickness_fraction"] = 1.0 - values["layer_split"]
    if "porosity_collector" in values:
        bottom["porosity"] = values["porosity_collector"]
    if "porosity_separator" in values:
        top["porosity"] = values["porosity_separator"]
    if "shrunk_fraction" in values or "shrink_factor" in values:
        pops = bottom["populations"]
        pristine = next(p for p in pops if p["size_scale"] == max(q["size_scale"] for q in pops))
        shrunk = next((p for p in pops if p is not pristine), None)
        fraction = values.get("shrunk_fraction", shrunk["mass_fraction"] if shrunk else 0.0)
        scale = values.get("shrink_factor", shrunk["size_scale"] if shrunk else 0.5)
        pristine["mass_fraction"] = 1.0 - fraction
        bottom["populations"] = [pristine] + (
            [{"name": "shrunk", "mass_fraction": fraction, "size_scale": scale}]
            if fraction > 0
            else []
        )
    return recipe_from_dict(data, source=f"design {name}")


def predicted_capacity_mah_cm2(
    model: Any, recipe: Recipe, c_rate: float, params: str
) -> tuple[float, int]:
    """Capacity (mAh/cm^2) the surrogate predicts for the electrode of ``recipe`` at ``c_rate``,
    and its number of particles."""
    p = load_parameters(params)
    electrode = generate(recipe)
    rows = predict(model, electrode, dods=(1.0,), c_rate=c_rate)
    sod = np.clip(rows["sod_pred"].to_numpy(), 0.0, 1.0)
    moles = (
        float(np.sum(sod * rows["volume_um3"].to_numpy()))
        * 1e-18
        * (1.0 - p.active.x_initial)
        * p.active.c_max_mol_m3
    )
    return moles * FARADAY_C_MOL / 3.6 / electrode.area_cm2, len(rows)


def check_resolution(model: Any, voxel_um: float) -> None:
    """Refuse designs at a voxel size the surrogate was not trained at (models that record it).

    The particle features and the simulated SOD both change with the voxel size: a surrogate
    trained on paper-pristine at 1.5 um scored bi-layer designs at 1 um 11 % below their
    simulated capacity (benchmarks/README.md, screening at paper scale)."""
    trained = model.dataset.get("voxel_um")
    if trained and not any(math.isclose(voxel_um, v, rel_tol=1e-6) for v in trained):
        raise DesignError(
            f"the surrogate was trained on electrodes at {', '.join(f'{v:g}' for v in trained)} um "
            f"voxels, the designs are at {voxel_um:g} um: set voxel_um to a trained size or "
            f"train at {voxel_um:g} um"
        )


@dataclass
class Screening:
    """Every sampled design with its predicted capacity, and the simulated top ones."""

    designs: pd.DataFrame  # parameters, predicted capacity, rank, simulated capacity (top k)
    verification: dict[str, float]  # errors of the surrogate on the verified designs
    files: list[Path]


def screen(
    space: ScreenSpace,
    out_dir: Path,
    folder: Path = Path("."),
    *,
    params: str = DEFAULT_PARAMETER_SET,
    workers: int = 1,
    scheduler: str | None = None,
    cases_dir: Path | None = None,
    on_design: Callable[[int, int], None] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> Screening:
    """Score every sampled design with the surrogate, simulate the ``top_k`` best, and write
    screen.csv/json and the figures into ``out_dir``. ``on_design(done, total)`` reports the
    scoring; ``on_result`` each verification case."""
    from voxode.design.figures import plot_screening

    c_rate = check_rate(space.c_rate)
    model_path = folder / space.model
    model = as_model(model_path if model_path.exists() else space.model)
    base_path = folder / space.base
    base = load_recipe(
        base_path if base_path.suffix.lower() in (".yaml", ".yml", ".toml") else space.base
    )
    base = base.with_overrides(seed=space.electrode_seed, voxel_um=space.voxel_um)
    check_resolution(model, base.voxel_um)
    points = sample(space)
    rows = []
    for k, values in enumerate(points.to_dict("records")):
        recipe = design_recipe(base, values, f"{base.name}-d{k:03d}")
        try:
            capacity, particles = predicted_capacity_mah_cm2(model, recipe, c_rate, params)
            error = ""
        except VoxodeError as exc:  # e.g. a sampled porosity the generator cannot pack
            capacity, particles, error = np.nan, 0, str(exc)
        rows.append(
            {
                "design": recipe.name,
                **values,
                "predicted_mah_cm2": capacity,
                "particles": particles,
                "error": error,
                "recipe": recipe,
            }
        )
        if on_design is not None:
            on_design(k + 1, len(points))
    table = pd.DataFrame(rows)
    table["rank"] = table["predicted_mah_cm2"].rank(ascending=False, method="first")
    top = table.dropna(subset=["predicted_mah_cm2"]).nsmallest(space.top_k, "rank")
    cases = [Case(r, c_rate, space.cutoff_v, params) for r in top["recipe"]]
    results = (
        run_campaign(
            cases,
            cases_dir or out_dir / "cases",
            workers=workers,
            scheduler=scheduler,
            on_result=on_result,
        )
        if cases
        else []
    )
    table["simulated_mah_cm2"] = np.nan
    table["case"] = ""
    for index, result in zip(top.index, results, strict=True):
        table.loc[index, "case"] = result.folder.name
        if result.ok:
            table.loc[index, "simulated_mah_cm2"] = result.summary["capacity_mah_cm2"]
        else:
            table.loc[index, "error"] = result.error or "failed"
    table = table.drop(columns="recipe").sort_values("rank", ignore_index=True)
    verified = table.dropna(subset=["simulated_mah_cm2"])
    rel = (verified["predicted_mah_cm2"] - verified["simulated_mah_cm2"]) / verified[
        "simulated_mah_cm2"
    ]
    verification = {
        "verified": int(len(verified)),
        "mean_abs_relative_error": float(rel.abs().mean()) if len(rel) else float("nan"),
        "max_abs_relative_error": float(rel.abs().max()) if len(rel) else float("nan"),
        "mean_relative_error": float(rel.mean()) if len(rel) else float("nan"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = [plot_screening(table, out_dir / "screen.png", c_rate=c_rate)]
    payload = {
        "base": base.name,
        "c_rate": c_rate,
        "cutoff_v": space.cutoff_v,
        "sampler": space.sampler,
        "samples": space.samples,
        "top_k": space.top_k,
        "model": str(model_path),
        "verification": verification,
        "designs": records(table),
    }
    files = write_tables(out_dir, "screen", table, payload) + figures
    return Screening(table, verification, files)
