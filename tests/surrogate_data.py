"""Per-particle datasets with a known answer, for the surrogate tests and benchmark.

The particles are real: generated electrodes, characterized by voxode (the tiny test
electrodes' tables are stored in tests/data, since characterizing takes ~10 s each). Only the target
is synthetic: ``known_sod`` is a fixed smooth function of the paper's five features and DoD (more
lithiated near the separator, for low tortuosity, for small particles with a large active area),
plus Gaussian noise. A surrogate that works must learn it; a constant predictor cannot. The rows
follow the dataset contract of :mod:`voxode.surrogate.features`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import small_recipe
from voxode.characterize import characterize
from voxode.generate import generate
from voxode.recipe import Recipe
from voxode.surrogate.features import DATASET_COLUMNS

DODS = (0.25, 0.5, 0.75, 1.0)
NOISE = 0.01  # standard deviation of the noise added to the known SOD
V_REF_UM3 = 30.0
TAU_REF = 5.0
SPECIFIC_AREA_REF = 2.5  # active area / V^(2/3), dimensionless
CBD_REF = 0.5  # CBD contact area / V^(2/3)
TINY_SEEDS = (1, 2, 3, 4)
TINY_BOX_UM = (15.0, 15.0, 30.0)  # small_recipe in this box: ~150 particles, ~50 not cut by a face
TABLES = Path(__file__).parent / "data" / "surrogate_tables.parquet"


def known_sod(
    table: pd.DataFrame, dod: float | np.ndarray, thickness_um: float | np.ndarray
) -> np.ndarray:
    """The noise-free SOD of every particle row at depth of discharge ``dod`` (a fixed function)."""
    v23 = table["volume_um3"].to_numpy() ** (2.0 / 3.0)
    drive = (
        0.3 * (table["centroid_z_um"].to_numpy() / thickness_um - 0.5)
        - 0.03 * (table["tau_electrolyte"].to_numpy() - TAU_REF)
        - 0.08 * np.log(table["volume_um3"].to_numpy() / V_REF_UM3)
        + 0.05 * np.log((table["active_area_um2"].to_numpy() + 0.1 * v23) / v23 / SPECIFIC_AREA_REF)
        + 0.02 * np.tanh(table["cbd_contact_area_um2"].to_numpy() / v23 - CBD_REF)
    )
    return np.clip(np.asarray(dod) * (0.9 + drive), 0.0, 1.0)


def case_name(recipe: Recipe) -> str:
    """A short hash of the recipe, standing in for a campaign case folder."""
    return hashlib.sha1(recipe.model_dump_json().encode()).hexdigest()[:12]


def with_case(table: pd.DataFrame, recipe: Recipe) -> pd.DataFrame:
    """A particle table of ``recipe``'s electrode with the case columns and the thickness."""
    return table.assign(
        case=case_name(recipe),
        recipe=recipe.name,
        seed=recipe.seed,
        voxel_um=recipe.voxel_um,
        thickness_um=recipe.box_um[2],
    )


def characterized(recipe: Recipe) -> pd.DataFrame:
    """Generate and characterize ``recipe``: its particle
    table with the case columns and thickness."""
    return with_case(characterize(generate(recipe)), recipe)


def known_dataset(
    tables: pd.DataFrame,
    c_rates: Sequence[float] = (1.0,),
    dods: Sequence[float] = DODS,
    seed: int = 0,
) -> pd.DataFrame:
    """Rows (case, particle, DoD) of the non-border particles of ``tables`` (from
    :func:`characterized`) with the known SOD plus noise, in the dataset contract's columns.

    Each case appears once per C-rate (as its own case); SOD scales as rate^-0.1 so that the
    C-rate matters when several are given.
    """
    rng = np.random.default_rng(seed)
    inner = tables[~tables["border"]].reset_index(drop=True)
    frames = []
    for rate in c_rates:
        for dod in dods:
            sod = known_sod(inner, dod, inner["thickness_um"].to_numpy()) * rate**-0.1
            case = inner["case"] if len(c_rates) == 1 else inner["case"] + f"-{rate:g}C"
            frames.append(
                inner.assign(
                    case=case,
                    c_rate=rate,
                    dod=dod,
                    sod=np.clip(sod + rng.normal(0.0, NOISE, len(inner)), 0.0, 1.0),
                )
            )
    return pd.concat(frames, ignore_index=True)[list(DATASET_COLUMNS)]


def tiny_tables() -> pd.DataFrame:
    """The stored characterization of tiny electrodes, seeds
    1-4 (regenerate: python tests/surrogate_data.py)."""
    return pd.read_parquet(TABLES)


if __name__ == "__main__":
    pd.concat(
        [characterized(small_recipe(s, box_um=TINY_BOX_UM)) for s in TINY_SEEDS], ignore_index=True
    ).to_parquet(TABLES, index=False)
    print(f"wrote {TABLES}")
