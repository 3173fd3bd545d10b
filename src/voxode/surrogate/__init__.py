"""The per-particle surrogate: train on simulated SOD, validate by electrode, predict, explain.

Public API (dataset contract in :mod:`voxode.surrogate.features`):

- :func:`train` (dataset -> :class:`TrainedSurrogate`, with grouped and random cross-validation),
  :meth:`TrainedSurrogate.save` / :func:`load` (a model folder);
- :func:`predict`: SOD of every particle of a new electrode at given DoDs;
- :func:`explain` / :func:`shap_values`: SHAP values, fold-stable rankings, permutation importance;
- :func:`plot_paper_figures`: SOD vs depth with tortuosity, SOD by particle size.

Names are imported on first use, so that ``voxode --help`` does not pay for scikit-learn.
"""

from __future__ import annotations

from voxode.lazy import lazy_exports

_WHERE = {
    "Explanation": "explanation",
    "explain": "explanation",
    "shap_values": "explanation",
    "DATASET_COLUMNS": "features",
    "PAPER_FEATURES": "features",
    "default_features": "features",
    "validate_dataset": "features",
    "plot_paper_figures": "figures",
    "TrainedSurrogate": "model",
    "load": "model",
    "predict": "prediction",
    "train": "training",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
