"""The per-particle dataset of finished cases: one row per (case, particle, DoD).

Columns (:data:`voxode.surrogate.features.DATASET_COLUMNS`): ``case`` (the case folder, the
grouping key of validation), ``recipe``, ``seed``, ``c_rate``, ``voxel_um``, the
characterization columns of :data:`voxode.characterize.COLUMNS`, ``dod`` (0.25, 0.5, 0.75,
1.0: delivered charge over the charge at cut-off) and ``sod`` (the particle's mean state of
discharge from the simulator). Particles cut by a lateral face of the box (``border``) are
left out unless asked for: their features describe a fragment of a particle.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from voxode.campaign import CaseResult
from voxode.characterize import COLUMNS
from voxode.electrochem.result import SOD_DODS
from voxode.errors import CampaignError
from voxode.surrogate.features import C_RATE, DATASET_COLUMNS, DOD, GROUP, TARGET


def case_rows(result: CaseResult, include_border: bool = False) -> pd.DataFrame:
    """The dataset rows of one finished case (characterization + discharge SOD)."""
    sod_columns = [f"sod_{d:03d}" for d in SOD_DODS]
    table = result.particles().merge(
        result.particle_sod()[["id", *sod_columns]], on="id", how="inner", validate="one_to_one"
    )
    if not include_border:
        table = table[~table["border"]]
    long = table.melt(
        id_vars=list(COLUMNS), value_vars=sod_columns, var_name=DOD, value_name=TARGET
    )
    long[DOD] = long[DOD].str.removeprefix("sod_").astype(float) / 100.0
    recipe = result.case.recipe
    for name, value in (
        (GROUP, result.folder.name),
        ("recipe", recipe.name),
        ("seed", recipe.seed),
        (C_RATE, result.case.c_rate),
        ("voxel_um", recipe.voxel_um),
    ):
        long[name] = value
    return long[list(DATASET_COLUMNS)]


def build_dataset(results: Sequence[CaseResult], include_border: bool = False) -> pd.DataFrame:
    """Rows of every finished case among ``results`` (e.g. :func:`voxode.campaign.run_campaign`'s,
    or :func:`voxode.campaign.campaign_results` of a folder), sorted by case, DoD and particle."""
    finished = [r for r in results if r.ok]
    if not finished:
        raise CampaignError(
            f"no finished case to build a dataset from ({len(results)} cases given)"
        )
    data = pd.concat([case_rows(r, include_border) for r in finished], ignore_index=True)
    return data.sort_values([GROUP, DOD, "id"], ignore_index=True)
