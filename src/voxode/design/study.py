"""What every design study shares: its error type, its recipes and seeds, a case's row,
statistics over seeds and the table files (CSV + JSON).

A study repeats each design on several seeds (stochastic electrodes). Seed index k uses the
same seed for every design, so designs that share a layer recipe share that layer voxel for
voxel in each repetition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from voxode.atomic import write_atomic, write_text_atomic
from voxode.campaign import CaseResult
from voxode.errors import DesignError, RecipeError
from voxode.recipe import Recipe, load_recipe, repetition_seeds

CAPACITY_COLUMNS = ("capacity_mah_cm2", "capacity_mah_g", "capacity_ah_l")
STATS = ("mean", "std", "min", "max")


def load_designs(recipes: Sequence[str | Path | Recipe]) -> list[Recipe]:
    """Recipes from preset names, recipe files or Recipe
    objects; names must differ (they label the results)."""
    if not recipes:
        raise DesignError("no design given: name at least one preset or recipe file")
    designs = []
    for spec in recipes:
        try:
            designs.append(spec if isinstance(spec, Recipe) else load_recipe(spec))
        except RecipeError as exc:
            raise DesignError(str(exc)) from None
    names = [d.name for d in designs]
    for name in names:
        if names.count(name) > 1:
            raise DesignError(f"two designs are named '{name}': give each recipe its own name")
    return designs


def seed_list(seeds: int | Sequence[int], base_seed: int) -> list[int]:
    """The seeds of a study: a count n gives :func:`voxode.recipe.repetition_seeds` (base_seed,
    base_seed + 1, ...: one seed reproduces the recipe's
    own electrode); a sequence is taken as it is."""
    if isinstance(seeds, int):
        if seeds < 1:
            raise DesignError(f"--seeds must be at least 1, got {seeds}")
        return repetition_seeds(seeds, base_seed)
    values = [int(s) for s in seeds]
    if not values:
        raise DesignError("the seed list is empty: give at least one seed")
    if min(values) < 0 or len(set(values)) != len(values):
        raise DesignError(f"seeds must be distinct and non-negative, got {values}")
    return values


def check_rate(c_rate: float, what: str = "--c-rate") -> float:
    if not (isinstance(c_rate, (int, float)) and math.isfinite(c_rate) and c_rate > 0):
        raise DesignError(f"{what} must be a positive number, got {c_rate}")
    return float(c_rate)


def case_row(result: CaseResult) -> dict[str, Any]:
    """Case key, status, error, end reason and the delivered capacity (NaN when the case failed)."""
    row: dict[str, Any] = {
        "case": result.folder.name,
        "status": result.status,
        "error": result.error or "",
        "end_reason": result.end_reason or "",
    }
    for col in CAPACITY_COLUMNS:
        row[col] = float(result.summary[col]) if result.ok else math.nan
    row["cutoff_reached"] = (
        bool(result.summary.get("cutoff_reached", False)) if result.ok else False
    )
    return row


def spread(table: pd.DataFrame, by: str, columns: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by`` (in order of appearance): cases ok / failed and mean, std (ddof 1,
    NaN for one value), min and max of each column over the cases that finished."""
    rows = []
    for key, group in table.groupby(by, sort=False):
        row: dict[str, Any] = {
            by: key,
            "n_ok": int((group["status"] == "ok").sum()),
            "n_failed": int((group["status"] != "ok").sum()),
        }
        for col in columns:
            values = group[col].dropna()
            row |= {
                f"{col}_mean": values.mean(),
                f"{col}_std": values.std(ddof=1),
                f"{col}_min": values.min(),
                f"{col}_max": values.max(),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append(
            {
                k: (
                    None
                    if isinstance(v, float) and math.isnan(v)
                    else v.item()
                    if hasattr(v, "item")
                    else v
                )
                for k, v in row.items()
            }
        )
    return out


def write_tables(
    out_dir: Path, stem: str, table: pd.DataFrame, payload: Mapping[str, Any]
) -> list[Path]:
    """``stem.csv`` (the per-case table) and ``stem.json`` (the payload), written atomically."""
    csv = write_atomic(out_dir / f"{stem}.csv", lambda p: table.to_csv(p, index=False))
    js = write_text_atomic(out_dir / f"{stem}.json", json.dumps(payload, indent=2) + "\n")
    return [csv, js]
