"""Explain a surrogate: SHAP values, feature rankings stable across folds, permutation importance.

SHAP uses shap's TreeExplainer with ``tree_path_dependent`` perturbation: exact for trees, no
background sample needed (the training rows that reach each leaf act as the background), and
its cost is linear in the rows explained. The ranking refits the model on each grouped fold,
ranks the features by mean |SHAP| on that fold's held-out electrodes, and reports mean, min and
max rank and mean |SHAP| +- std across folds; sklearn's permutation importance (increase of
the MAE when a feature is shuffled, on the same held-out rows) is the cross-check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance

from voxode.atomic import write_atomic, write_text_atomic
from voxode.extras import require
from voxode.options import check
from voxode.surrogate.features import GROUP, TARGET, validate_dataset
from voxode.surrogate.model import TrainedSurrogate
from voxode.surrogate.prediction import as_model
from voxode.surrogate.training import fit_estimator
from voxode.surrogate.validation import grouped_splits

BASE_VALUE = "base_value"
PERMUTATION_REPEATS = 5
PARALLEL_ROWS = 2000  # below this, starting worker processes costs more than it saves


def _explainer(estimator: Any) -> Any:
    shap = require(
        "shap", "shap", "SHAP explanations"
    )  # imported here: shap takes seconds to import

    return shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")


def _shap_chunk(estimator: Any, x: np.ndarray) -> tuple[np.ndarray, float]:
    explainer = _explainer(estimator)
    return np.asarray(explainer.shap_values(x, check_additivity=False)), float(
        np.ravel(explainer.expected_value)[0]
    )


def shap_frame(estimator: Any, x: pd.DataFrame, n_jobs: int = 1) -> pd.DataFrame:
    """SHAP values of ``estimator`` for the rows of ``x``: one column per feature + ``base_value``.

    Each row's values sum with the base value to the model's prediction for that row. shap's
    C kernel is single-threaded, so with ``n_jobs`` > 1 large inputs are split across processes.
    """
    data = x.to_numpy(dtype=float)
    if n_jobs > 1 and len(data) >= PARALLEL_ROWS:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(
            delayed(_shap_chunk)(estimator, chunk) for chunk in np.array_split(data, n_jobs)
        )
        values, base = np.concatenate([p[0] for p in parts]), parts[0][1]
    else:
        values, base = _shap_chunk(estimator, data)
    out = pd.DataFrame(values, columns=list(x.columns), index=x.index)
    out[BASE_VALUE] = base
    return out


def shap_values(
    model: TrainedSurrogate | str | Path, frame: pd.DataFrame, n_jobs: int = 2
) -> pd.DataFrame:
    """SHAP values of a trained surrogate for every row of ``frame`` (rows in the same order),
    with the ``case`` and ``id`` columns of ``frame`` when present.

    Parameters
    ----------
    model : TrainedSurrogate or path
        A trained surrogate or its model folder.
    frame : pandas.DataFrame
        Rows with the model's features.
    n_jobs : int
        Processes for the SHAP values.

    Returns
    -------
    pandas.DataFrame
        One column per feature: its SHAP value (SOD units, dimensionless).
    """
    trained = as_model(model)
    trained.predict(frame.head(1), what="dataset")  # feature check with a one-line error
    out = shap_frame(trained.estimator, frame[list(trained.features)], n_jobs).reset_index(
        drop=True
    )
    for column in ("id", GROUP):
        if column in frame.columns and column not in trained.features:
            out.insert(0, column, frame[column].to_numpy())
    return out


def _with_jobs(estimator: Any, n_jobs: int) -> Any:
    """``estimator`` (same hyper-parameters as the trained
    one) fitting on ``n_jobs`` threads where it can."""
    return estimator.set_params(n_jobs=n_jobs) if "n_jobs" in estimator.get_params() else estimator


def fold_rankings(
    trained: TrainedSurrogate,
    dataset: pd.DataFrame,
    folds: int = 5,
    n_jobs: int = 2,
    on_fold: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-fold importances (long table) and their summary per feature (ranking table).

    Ranking columns: feature, mean_rank, min_rank, max_rank (1 = most important),
    mean_abs_shap, mean_abs_shap_std (across folds), permutation_mae_increase (+ std across
    folds) and permutation_rank; sorted by mean rank. ``on_fold(done, total)`` is called as
    each fold ends (``total``: the number of folds, fewer than ``folds`` with fewer electrodes).
    """
    features = list(trained.features)
    data = dataset.reset_index(drop=True)
    x, y = data[features].astype(float), data[TARGET].astype(float)
    splits, _ = grouped_splits(data[GROUP], folds, trained.seed)
    rows = []
    for k, (train, test) in enumerate(splits):
        estimator = fit_estimator(
            _with_jobs(clone(trained.estimator), n_jobs), x.iloc[train], y.iloc[train], n_jobs
        )
        mean_abs = shap_frame(estimator, x.iloc[test], n_jobs)[features].abs().mean()
        perm = permutation_importance(
            estimator,
            x.iloc[test],
            y.iloc[test],
            scoring="neg_mean_absolute_error",
            n_repeats=PERMUTATION_REPEATS,
            random_state=trained.seed,
            n_jobs=1,
        )
        rows += [
            {
                "fold": k,
                "feature": f,
                "mean_abs_shap": mean_abs[f],
                "permutation": perm.importances_mean[i],
            }
            for i, f in enumerate(features)
        ]
        if on_fold is not None:
            on_fold(k + 1, len(splits))
    per_fold = pd.DataFrame(rows)
    per_fold["rank"] = (
        per_fold.groupby("fold")["mean_abs_shap"].rank(ascending=False, method="min").astype(int)
    )
    per_fold["permutation_rank"] = per_fold.groupby("fold")["permutation"].rank(
        ascending=False, method="min"
    )
    grouped = per_fold.groupby("feature")
    ranking = (
        pd.DataFrame(
            {
                "mean_rank": grouped["rank"].mean(),
                "min_rank": grouped["rank"].min(),
                "max_rank": grouped["rank"].max(),
                "mean_abs_shap": grouped["mean_abs_shap"].mean(),
                "mean_abs_shap_std": grouped["mean_abs_shap"].std(ddof=0),
                "permutation_mae_increase": grouped["permutation"].mean(),
                "permutation_mae_increase_std": grouped["permutation"].std(ddof=0),
                "permutation_rank": grouped["permutation_rank"].mean(),
            }
        )
        .sort_values(["mean_rank", "mean_abs_shap"], ascending=[True, False])
        .reset_index()
    )
    return per_fold, ranking


@dataclass(frozen=True)
class Explanation:
    """SHAP values of every dataset row, the fold-stable ranking, and the files written.

    Attributes
    ----------
    shap : pandas.DataFrame
        One column per feature: its SHAP value (SOD units, dimensionless), per row.
    ranking : pandas.DataFrame
        Per feature: mean |SHAP| on held-out electrodes, its spread, and the rank range over
        folds.
    per_fold : pandas.DataFrame
        The ranking of each fold.
    files : list of Path
        Tables and figures written.
    """

    shap: pd.DataFrame
    ranking: pd.DataFrame
    per_fold: pd.DataFrame
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Ranking and files as plain JSON data.

        Returns
        -------
        dict
            Features in rank order, mean |SHAP| per feature (SOD units) and the files.
        """
        return {
            "ranking": [str(f) for f in self.ranking["feature"]],
            "mean_abs_shap": dict(
                zip(
                    self.ranking["feature"],
                    self.ranking["mean_abs_shap"].round(6).tolist(),
                    strict=True,
                )
            ),
            "files": [str(p) for p in self.files],
        }


def explain(
    model: TrainedSurrogate | str | Path,
    dataset: pd.DataFrame,
    out_dir: str | Path | None = None,
    folds: int = 5,
    top: int = 3,
    n_jobs: int = 2,
    on_fold: Callable[[int, int], None] | None = None,
) -> Explanation:
    """SHAP values and fold rankings; with ``out_dir``, also write shap_values.parquet,
    ranking.csv, ranking_per_fold.csv, summary.json and the figures (beeswarm.png,
    ranking.png, dependence_<feature>.png for the ``top`` features).

    The SHAP values of every row come first, then the folds, each reported by ``on_fold(done,
    total)`` (see :func:`fold_rankings`).

    Parameters
    ----------
    model : TrainedSurrogate or path
        A trained surrogate or its model folder.
    dataset : pandas.DataFrame
        Rows to explain (the model's features, ``case``, ``sod``).
    out_dir : path, optional
        Folder for the tables and figures.
    folds : int
        Grouped folds of the ranking stability check.
    top : int
        Dependence plots for this many top features.
    n_jobs : int
        Processes for the SHAP values.
    on_fold : callable, optional
        ``on_fold(done, total)`` after each fold.

    Returns
    -------
    Explanation
        SHAP values (in SOD units, dimensionless), the ranking with its spread over folds, and
        permutation importances.
    """
    check(folds=folds, top=top, jobs=n_jobs)
    from voxode.surrogate.shap_plots import plot_beeswarm, plot_dependence, plot_ranking

    trained = as_model(model)
    validate_dataset(dataset, trained.features)
    values = shap_values(trained, dataset, n_jobs)
    per_fold, ranking = fold_rankings(trained, dataset, folds, n_jobs, on_fold)
    result = Explanation(shap=values, ranking=ranking, per_fold=per_fold)
    if out_dir is None:
        return result
    out = Path(out_dir)
    x = dataset[list(trained.features)].reset_index(drop=True)
    order = list(ranking["feature"])
    files = [
        write_atomic(out / "shap_values.parquet", lambda p: values.to_parquet(p, index=False)),
        write_atomic(out / "ranking.csv", lambda p: ranking.to_csv(p, index=False)),
        write_atomic(out / "ranking_per_fold.csv", lambda p: per_fold.to_csv(p, index=False)),
        plot_beeswarm(values[order], x[order], out / "beeswarm.png"),
        plot_ranking(ranking, out / "ranking.png"),
    ]
    files += [plot_dependence(values, x, f, out / f"dependence_{f}.png") for f in order[:top]]
    result = Explanation(
        shap=values, ranking=ranking, per_fold=per_fold, files=[*files, out / "summary.json"]
    )
    write_text_atomic(out / "summary.json", json.dumps(result.summary(), indent=2))
    return result
