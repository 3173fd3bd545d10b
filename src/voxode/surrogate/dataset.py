"""The per-particle dataset of a campaign: one row per (case, particle, DoD).

Columns: ``case`` (the case folder, the grouping key of validation), ``recipe``, ``seed``,
``c_rate``, ``voxel_um``, the characterization columns of
:data:`voxode.characterize.COLUMNS`, ``dod`` (0.25, 0.5, 0.75, 1.0: delivered charge over the
charge at cut-off) and ``sod`` (the particle's mean state of discharge from the simulator).
Particles cut by a lateral face of the box (``border``) are left out unless asked for: their
features describe a fragment of a particle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from voxode.campaign import CampaignError, campaign_results
from voxode.characterize import COLUMNS
from voxode.electrochem.result import SOD_DODS

CASE_COLUMNS: tuple[str, ...] = ("case", "recipe", "seed", "c_rate", "voxel_um")
DATASET_COLUMNS: tuple[str, ...] = CASE_COLUMNS + COLUMNS + ("dod", "sod")


def case_rows(folder: Path, recipe: str, seed: int, c_rate: float, voxel_um: float,
              include_border: bool = False) -> pd.DataFrame:
    """The dataset rows of one finished case folder (characterization + discharge SOD)."""
    features = pd.read_parquet(folder / "particles.parquet")
    sod = pd.read_parquet(folder / "run" / "particles_sod.parquet")
    sod_columns = [f"sod_{d:03d}" for d in SOD_DODS]
    table = features.merge(sod[["id", *sod_columns]], on="id", how="inner", validate="one_to_one")
    if not include_border:
        table = table[~table["border"]]
    long = table.melt(id_vars=list(COLUMNS), value_vars=sod_columns, var_name="dod", value_name="sod")
    long["dod"] = long["dod"].str.removeprefix("sod_").astype(float) / 100.0
    for name, value in (("case", folder.name), ("recipe", recipe), ("seed", seed), ("c_rate", c_rate),
                        ("voxel_um", voxel_um)):
        long[name] = value
    return long[list(DATASET_COLUMNS)]


def build_dataset(campaign_dir: Path, include_border: bool = False) -> pd.DataFrame:
    """Rows of every finished case of a campaign folder, sorted by case, DoD and particle."""
    finished = [r for r in campaign_results(campaign_dir) if r.ok]
    if not finished:
        raise CampaignError(f"{campaign_dir}: no finished case to build a dataset from")
    frames = [case_rows(r.folder, r.case.recipe.name, r.case.recipe.seed, r.case.c_rate,
                        r.case.recipe.voxel_um, include_border) for r in finished]
    data = pd.concat(frames, ignore_index=True)
    return data.sort_values(["case", "dod", "id"], ignore_index=True)
