"""A trained surrogate and its folder on disk.

``model_dir/`` holds ``model.joblib`` (the fitted scikit-learn regressor), ``model.json`` (feature
list, target, hyper-parameters, metrics, dataset size, package versions, training time),
``metrics.json`` (the metrics alone), ``validation.parquet`` (grouped out-of-fold predictions
with their features) and ``parity.png``. Every file is written atomically; :func:`load`
checks that the files agree and that the installed scikit-learn can read the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from voxode.atomic import write_atomic, write_text_atomic
from voxode.errors import ModelError
from voxode.io.tables import json_safe
from voxode.surrogate.features import check_features

FORMAT = 1
MODEL_FILE = "model.joblib"
META_FILE = "model.json"
METRICS_FILE = "metrics.json"
VALIDATION_FILE = "validation.parquet"
PARITY_FILE = "parity.png"
PACKAGES = ("scikit-learn", "numpy", "pandas", "shap", "joblib", "voxode")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a saved model depends on (None when absent)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


@dataclass(frozen=True)
class TrainedSurrogate:
    """A fitted regressor with its feature list, validation metrics and held-out predictions.

    Attributes
    ----------
    estimator
        The fitted scikit-learn regressor.
    model : str
        ``random-forest`` or ``gradient-boosting``.
    features : tuple of str
        Feature columns, in the estimator's order.
    target : str
        The predicted column (``sod``, dimensionless, 0 to 1).
    metrics : dict
        Grouped and random cross-validation: MAE, mean relative error, R^2, MAE per DoD.
    validation : pandas.DataFrame
        One row per dataset row: case, id, dod, the features (and depth, volume, diameter and
        tortuosity for the figures), the true ``sod``, its grouped out-of-fold prediction
        ``sod_pred`` and the ``fold`` it was held out in.
    dataset : dict
        Rows and cases it was trained on.
    training_seconds : float
        Wall time of the training (s).
    seed : int
        Random seed of the model and the folds.
    """

    estimator: Any
    model: str
    features: tuple[str, ...]
    target: str
    metrics: dict[str, Any]
    validation: pd.DataFrame
    dataset: dict[str, Any]
    training_seconds: float
    seed: int

    def predict(self, frame: pd.DataFrame, what: str = "table") -> np.ndarray:
        """Predicted SOD (0..1) of each row of ``frame``; a missing or invalid feature raises.

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows with the model's features.
        what : str
            What the rows are, for the error message.

        Returns
        -------
        ndarray
            Predicted SOD (dimensionless, 0 to 1), one per row.
        """
        check_features(frame, self.features, f"{what} (model features {', '.join(self.features)})")
        return self.estimator.predict(frame[list(self.features)])

    def meta(self) -> dict[str, Any]:
        """The content of ``model.json``.

        Returns
        -------
        dict
            Format, model kind, estimator and its hyper-parameters, features, target, metrics,
            dataset, training time (s), seed and package versions.
        """
        params = {
            k: json_safe(v)
            for k, v in self.estimator.get_params().items()
            if isinstance(v, (int, float, str, bool, type(None), np.number))
        }
        return {
            "format": FORMAT,
            "model": self.model,
            "estimator": type(self.estimator).__name__,
            "hyperparameters": params,
            "features": list(self.features),
            "target": self.target,
            "metrics": self.metrics,
            "dataset": self.dataset,
            "training_seconds": round(self.training_seconds, 3),
            "seed": self.seed,
            "versions": package_versions(),
        }

    def save(self, model_dir: str | Path) -> Path:
        """Write the model folder (see the module docstring); returns its path.

        Parameters
        ----------
        model_dir : str or Path
            Folder to write.

        Returns
        -------
        Path
            The folder.
        """
        from voxode.surrogate.figures import plot_parity

        model_dir = Path(model_dir)
        if model_dir.exists() and not model_dir.is_dir():
            raise ModelError(f"{model_dir} is a file; give a folder for the model")
        write_atomic(model_dir / MODEL_FILE, lambda p: joblib.dump(self.estimator, p))
        write_atomic(
            model_dir / VALIDATION_FILE, lambda p: self.validation.to_parquet(p, index=False)
        )
        write_text_atomic(model_dir / METRICS_FILE, json.dumps(self.metrics, indent=2))
        plot_parity(self.validation, model_dir / PARITY_FILE, self.metrics["grouped"]["mae"])
        write_text_atomic(
            model_dir / META_FILE, json.dumps(self.meta(), indent=2)
        )  # last: marks the folder complete
        return model_dir


def load(model_dir: str | Path) -> TrainedSurrogate:
    """Read a model folder written by :meth:`TrainedSurrogate.save`, checking that its parts agree.

    Parameters
    ----------
    model_dir : path
        Folder written by :meth:`TrainedSurrogate.save`.

    Returns
    -------
    TrainedSurrogate
        The model, its features, metrics and held-out predictions.
    """
    model_dir = Path(model_dir)
    for name in (META_FILE, MODEL_FILE, VALIDATION_FILE):
        if not (model_dir / name).is_file():
            raise ModelError(
                f"{model_dir} is not a voxode model folder: {name} is missing (run voxode train)"
            )
    try:
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        features, target = tuple(meta["features"]), meta["target"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_dir / META_FILE} is corrupt ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ModelError(
            f"{model_dir} has model format {meta.get('format')}; this voxode reads format {FORMAT}"
        )
    saved = meta.get("versions", {}).get("scikit-learn")
    installed = package_versions()["scikit-learn"]
    if saved != installed:
        raise ModelError(
            f"{model_dir} was trained with scikit-learn {saved}, this is {installed}: "
            f"retrain it (voxode train) or install scikit-learn=={saved}"
        )
    estimator = joblib.load(model_dir / MODEL_FILE)
    if tuple(getattr(estimator, "feature_names_in_", ())) != features:
        raise ModelError(
            f"{model_dir}: {MODEL_FILE} and {META_FILE} disagree on the features; retrain the model"
        )
    return TrainedSurrogate(
        estimator=estimator,
        model=meta["model"],
        features=features,
        target=target,
        metrics=meta["metrics"],
        validation=pd.read_parquet(model_dir / VALIDATION_FILE),
        dataset=meta["dataset"],
        training_seconds=meta["training_seconds"],
        seed=meta["seed"],
    )
