"""Train the per-particle surrogate with grouped and random cross-validation.

Random forest by default. Its hyper-parameters are chosen for the paper's data size (~10k
rows, 10 electrodes): 100 trees, each grown on a half-size bootstrap sample, depth <= 10 and
leaves of >= 10 rows (~300 leaves per tree). TreeSHAP costs rows x trees x leaves x depth^2, so
unlimited trees (200 trees, ~1000 leaves, depth 16) take minutes to explain 10k rows; these
take well under a minute, train in seconds on 2 cores, and lose ~0.002 of grouped MAE
(benchmarks/README.md, "Surrogate").
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from threadpoolctl import threadpool_limits

from voxode.errors import DatasetError
from voxode.options import check
from voxode.surrogate.features import (
    DOD,
    GROUP,
    PREDICTION,
    TARGET,
    default_features,
    validate_dataset,
)
from voxode.surrogate.model import TrainedSurrogate
from voxode.surrogate.validation import (
    REL_FLOOR,
    grouped_splits,
    metrics,
    out_of_fold,
    random_splits,
)

MODELS = ("random-forest", "gradient-boosting")
FOREST = {"n_estimators": 100, "max_samples": 0.5, "max_depth": 10, "min_samples_leaf": 10}
BOOSTING = {"max_iter": 300, "learning_rate": 0.05, "min_samples_leaf": 20}
ID_COLUMNS = (GROUP, "id", DOD)
FIGURE_COLUMNS = (
    "centroid_z_um",
    "volume_um3",
    "d_eq_um",
    "tau_electrolyte",
)  # kept for the paper figures


def make_estimator(
    model: str, seed: int, n_jobs: int = 2, params: Mapping[str, Any] | None = None
) -> Any:
    """An unfitted regressor: ``random-forest`` or ``gradient-boosting`` with voxode's settings,
    overridden by ``params`` (scikit-learn hyper-parameter names)."""
    if model not in MODELS:
        raise DatasetError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    if model == "random-forest":
        settings: dict[str, Any] = FOREST | {"random_state": seed, "n_jobs": n_jobs}
        cls: type = RandomForestRegressor
    else:
        settings, cls = BOOSTING | {"random_state": seed}, HistGradientBoostingRegressor
    try:
        return cls(**(settings | dict(params or {})))
    except TypeError as exc:
        raise DatasetError(f"{model}: {exc}") from None


def fit_estimator(estimator: Any, x: pd.DataFrame, y: pd.Series, n_jobs: int) -> Any:
    """Fit with OpenMP (gradient boosting) limited to ``n_jobs`` threads: on a busy machine more
    threads than free cores make OpenMP's spinning threads tens of times slower."""
    with threadpool_limits(n_jobs, user_api="openmp"):
        return estimator.fit(x, y)


def train(
    dataset: pd.DataFrame,
    model: str = "random-forest",
    features: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
    n_jobs: int = 2,
    params: Mapping[str, Any] | None = None,
) -> TrainedSurrogate:
    """Validate (grouped by case, and random for comparison), then fit on all rows.

    ``features`` defaults to :func:`default_features`; ``params`` overrides the estimator's
    hyper-parameters (e.g. ``{"n_estimators": 50}``). Metrics (MAE, mean relative error over
    rows with SOD >= 0.05, R^2, MAE per DoD) are computed on out-of-fold predictions.

    Parameters
    ----------
    dataset : pandas.DataFrame
        One row per (case, particle, DoD) with the features and the simulated ``sod``.
    model : {'random-forest', 'gradient-boosting'}
        The estimator.
    features : sequence of str, optional
        Feature columns.
    folds : int
        Grouped cross-validation folds.
    seed : int
        Random seed of the model and the folds.
    n_jobs : int
        Processes/threads.
    params : mapping, optional
        Estimator hyper-parameters.

    Returns
    -------
    TrainedSurrogate
        The fitted model with its cross-validation metrics (SOD units) and held-out predictions.
    """
    check(folds=folds, seed=seed, jobs=n_jobs)
    start = time.perf_counter()
    make_estimator(
        model, seed, n_jobs, params
    )  # reject an unknown model or parameter before any work
    features = tuple(features) if features is not None else default_features(dataset)
    validate_dataset(dataset, features)
    data = dataset.reset_index(drop=True)
    x, y = data[list(features)].astype(float), data[TARGET].astype(float)
    dod = data[DOD].to_numpy()

    def fit(xt: pd.DataFrame, yt: pd.Series) -> Any:
        return fit_estimator(make_estimator(model, seed, n_jobs, params), xt, yt, n_jobs)

    grouped, grouped_scheme = grouped_splits(data[GROUP], folds, seed)
    random, random_scheme = random_splits(len(data), len(grouped), seed)
    pred_grouped, fold, _ = out_of_fold(fit, x, y, grouped)
    pred_random, _, _ = out_of_fold(fit, x, y, random)
    estimator = fit(x, y)
    if (
        "n_jobs" in estimator.get_params()
    ):  # threads sum the trees in any order: 1 makes predictions bit-identical
        estimator.set_params(n_jobs=1)
    keep = [
        c for c in dict.fromkeys((*ID_COLUMNS, *features, *FIGURE_COLUMNS)) if c in data.columns
    ]
    validation = data[keep].assign(**{TARGET: y, PREDICTION: pred_grouped, "fold": fold})
    report = {
        "grouped": {"scheme": grouped_scheme, **metrics(y, pred_grouped, dod)},
        "random": {"scheme": random_scheme, **metrics(y, pred_random, dod)},
        "relative_error_floor": REL_FLOOR,
        "training": {
            "rows": len(data),
            "mae_in_sample": float(np.abs(estimator.predict(x) - y).mean()),
        },
    }
    info = {
        "rows": len(data),
        "cases": int(data[GROUP].nunique()),
        "dods": sorted(float(d) for d in np.unique(dod)),
        "c_rates": sorted(float(c) for c in data["c_rate"].unique())
        if "c_rate" in data.columns
        else None,
        "voxel_um": sorted(float(v) for v in data["voxel_um"].unique())
        if "voxel_um" in data.columns
        else None,
    }
    return TrainedSurrogate(
        estimator=estimator,
        model=model,
        features=features,
        target=TARGET,
        metrics=report,
        validation=validation,
        dataset=info,
        training_seconds=time.perf_counter() - start,
        seed=seed,
    )
