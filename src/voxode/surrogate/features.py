"""The surrogate's dataset contract and feature sets.

A dataset has one row per (case, particle, DoD): ``case`` (the simulation's folder name, the
grouping key), ``recipe``, ``seed``, ``c_rate``, ``voxel_um``, the characterization columns of
:data:`voxode.characterize.COLUMNS`, ``dod`` (0..1) and the target ``sod`` (particle mean state
of discharge, 0..1). The default features are the paper's five plus DoD, plus ``c_rate`` when
the dataset holds more than one C-rate. Border particles are excluded upstream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from voxode.characterize import COLUMNS
from voxode.errors import DatasetError

TARGET = "sod"
PREDICTION = "sod_pred"  # the surrogate's SOD, beside the simulated one
GROUP = "case"
DOD = "dod"
C_RATE = "c_rate"
PAPER_FEATURES: tuple[str, ...] = (
    "tau_electrolyte",
    "volume_um3",
    "centroid_z_um",
    "active_area_um2",
    "cbd_contact_area_um2",
)
CASE_COLUMNS: tuple[str, ...] = (GROUP, "recipe", "seed", C_RATE, "voxel_um")
DATASET_COLUMNS: tuple[str, ...] = CASE_COLUMNS + COLUMNS + (DOD, TARGET)
LABELS: dict[str, str] = {  # axis labels for figures
    "tau_electrolyte": "electrolyte tortuosity",
    "volume_um3": "volume (µm³)",
    "centroid_z_um": "distance from current collector (µm)",
    "active_area_um2": "active area (µm²)",
    "cbd_contact_area_um2": "CBD contact area (µm²)",
    DOD: "depth of discharge",
    C_RATE: "C-rate",
    TARGET: "state of discharge",
}


def default_features(dataset: pd.DataFrame) -> tuple[str, ...]:
    """The paper's five features and DoD, plus the C-rate when ``dataset`` has several.

    Parameters
    ----------
    dataset : pandas.DataFrame
        The per-particle dataset (columns as :data:`DATASET_COLUMNS`).

    Returns
    -------
    tuple of str
        Feature column names.
    """
    several_rates = C_RATE in dataset.columns and dataset[C_RATE].nunique() > 1
    return PAPER_FEATURES + (DOD,) + ((C_RATE,) if several_rates else ())


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`DatasetError` naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{what} lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )


def validate_dataset(dataset: pd.DataFrame, features: Sequence[str], what: str = "dataset") -> None:
    """Check a training dataset: columns present, rows, finite numeric features, SOD in [0, 1].

    Parameters
    ----------
    dataset : pandas.DataFrame
        The per-particle dataset.
    features : sequence of str
        Feature columns the model uses.
    what : str
        What the data is, for the error message.

    Raises
    ------
    DatasetError
        One line naming the first problem.
    """
    require_columns(dataset, dict.fromkeys((GROUP, DOD, *features, TARGET)), what)
    if dataset.empty:
        raise DatasetError(f"{what} has no rows")
    check_features(dataset, features, what)
    sod = dataset[TARGET].to_numpy(dtype=float)
    if not np.isfinite(sod).all() or (sod < -1e-9).any() or (sod > 1 + 1e-9).any():
        raise DatasetError(f"{what}: column {TARGET} must hold finite values in [0, 1]")
    if dataset[GROUP].nunique() < 2:
        raise DatasetError(
            f"{what} holds one case ({GROUP} column); validation grouped by simulation needs >= 2"
        )


def check_features(frame: pd.DataFrame, features: Sequence[str], what: str) -> None:
    """Raise :class:`DatasetError` unless every feature column is present, numeric and finite."""
    require_columns(frame, features, what)
    for name in features:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise DatasetError(
                f"{what}: column {name} holds non-numeric, NaN or infinite values "
                f"({int((~np.isfinite(values)).sum())} rows)"
            )


def feature_rows(
    particles: pd.DataFrame, dods: Sequence[float], c_rate: float | None = None
) -> pd.DataFrame:
    """One row per (particle, DoD) from a particle table:
    the prediction input of a new electrode."""
    if not len(dods) or any(not 0.0 < d <= 1.0 for d in dods):
        raise DatasetError(f"DoDs must be in (0, 1], got {list(dods)}")
    rows = pd.concat([particles.assign(**{DOD: float(d)}) for d in dods], ignore_index=True)
    if c_rate is not None:
        rows[C_RATE] = float(c_rate)
    return rows
