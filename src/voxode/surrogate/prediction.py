"""Predict every particle's SOD of a new electrode with a trained surrogate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from voxode.characterize import characterize
from voxode.electrode import Electrode
from voxode.errors import ModelError
from voxode.options import check
from voxode.surrogate.features import C_RATE, PREDICTION, feature_rows
from voxode.surrogate.model import TrainedSurrogate, load

DODS = (0.25, 0.5, 0.75, 1.0)


def as_model(model: TrainedSurrogate | str | Path) -> TrainedSurrogate:
    """A trained surrogate, loaded from its folder when given a path."""
    return model if isinstance(model, TrainedSurrogate) else load(model)


def predict(
    model: TrainedSurrogate | str | Path,
    electrode: Electrode | pd.DataFrame | str | Path,
    dods: Sequence[float] = DODS,
    c_rate: float | None = None,
) -> pd.DataFrame:
    """One row per (particle, DoD): the particle table (characterized here when given an
    electrode or .npz path), ``dod``, ``c_rate`` when given, and the predicted SOD ``sod_pred``.

    A model that uses the C-rate needs ``c_rate``; a table lacking a model feature raises
    :class:`voxode.errors.DatasetError`.

    Parameters
    ----------
    model : TrainedSurrogate or path
        A trained surrogate or its model folder.
    electrode : Electrode, pandas.DataFrame or path
        The electrode (characterized here) or its particle table.
    dods : sequence of float
        Depths of discharge, in (0, 1].
    c_rate : float, optional
        C-rate (1/h), needed when the model uses it.

    Returns
    -------
    pandas.DataFrame
        One row per (particle, DoD) with ``sod_pred`` (dimensionless, 0 to 1).
    """
    check(c_rate=c_rate)
    trained = as_model(model)
    if C_RATE in trained.features and c_rate is None:
        raise ModelError(
            f"the model uses the C-rate (trained on {trained.dataset.get('c_rates')}); give c_rate"
        )
    if isinstance(electrode, (str, Path)):
        electrode = Electrode.load(electrode)
    particles = characterize(electrode) if isinstance(electrode, Electrode) else electrode
    rows = feature_rows(particles, dods, c_rate)
    return rows.assign(**{PREDICTION: trained.predict(rows, what="particle table")})
