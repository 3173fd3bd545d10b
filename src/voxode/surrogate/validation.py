"""Cross-validation splits and accuracy metrics of the surrogate.

Grouped splits keep each simulation (``case``) whole: a particle's rows and its electrode are
never on both sides. With no more cases than folds, every electrode is left out once
(leave-one-electrode-out). A plain random k-fold over rows, with the same number of folds, is
reported beside it: the gap between the two is the leakage that a row-wise split hides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut

from voxode.surrogate.features import DOD

REL_FLOOR = (
    0.05  # mean relative error over rows whose true SOD is at least this (|e|/y blows up near 0)
)
Split = tuple[np.ndarray, np.ndarray]


def grouped_splits(groups: pd.Series, folds: int, seed: int) -> tuple[list[Split], str]:
    """(train, test) row indices that never share a group, and the scheme's name."""
    n_groups = groups.nunique()
    if n_groups <= folds:
        scheme, splitter = f"leave-one-electrode-out ({n_groups} folds)", LeaveOneGroupOut()
    else:
        scheme, splitter = (
            f"GroupKFold ({folds} folds)",
            GroupKFold(n_splits=folds, shuffle=True, random_state=seed),
        )
    return list(splitter.split(np.zeros(len(groups)), groups=groups.to_numpy())), scheme


def random_splits(n_rows: int, folds: int, seed: int) -> tuple[list[Split], str]:
    """(train, test) row indices of a shuffled k-fold over rows (cases straddle the split)."""
    return list(
        KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(n_rows))
    ), f"random KFold over rows ({folds} folds)"


def out_of_fold(
    fit: Callable[[pd.DataFrame, pd.Series], object],
    x: pd.DataFrame,
    y: pd.Series,
    splits: list[Split],
) -> tuple[np.ndarray, np.ndarray, list[object]]:
    """Held-out predictions of every row, its fold index, and the fitted model of each fold.

    ``fit(x_train, y_train)`` returns a fitted estimator with ``predict``.
    """
    pred = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    models = []
    for k, (train, test) in enumerate(splits):
        model = fit(x.iloc[train], y.iloc[train])
        pred[test] = model.predict(x.iloc[test])
        fold[test] = k
        models.append(model)
    return pred, fold, models


def metrics(y_true: np.ndarray, y_pred: np.ndarray, dod: np.ndarray) -> dict[str, object]:
    """MAE, mean relative error (rows with true SOD >= REL_FLOOR), R^2, and MAE per DoD."""
    y_true, y_pred, dod = (np.asarray(a, dtype=float) for a in (y_true, y_pred, dod))
    err = np.abs(y_pred - y_true)
    keep = y_true >= REL_FLOOR
    return {
        "mae": float(err.mean()),
        "mean_relative_error": float((err[keep] / y_true[keep]).mean()) if keep.any() else None,
        "relative_error_rows": int(keep.sum()),
        "r2": float(r2_score(y_true, y_pred)),
        f"mae_per_{DOD}": {
            f"{d:g}": float(mean_absolute_error(y_true[dod == d], y_pred[dod == d]))
            for d in np.unique(dod)
        },
    }
