"""SHAP figures drawn with plain matplotlib Figures (no pyplot state): beeswarm, ranking,
dependence.

The beeswarm follows shap's layout: one row per feature (most important on top), one point
per dataset row at its SHAP value, spread vertically by local density, coloured by the
feature's value (5-95 % percentile range, low blue to high red).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from voxode.io.figures import save_figure
from voxode.surrogate.features import DOD, LABELS
from voxode.surrogate.figures import DPI

CMAP = colormaps["coolwarm"]
MAX_POINTS = 5000  # per feature row of the beeswarm: more only blurs the picture


def _label(feature: str) -> str:
    return LABELS.get(feature, feature)


def _swarm_offsets(values: np.ndarray, width: float = 0.4, bins: int = 100) -> np.ndarray:
    """Vertical offsets proportional to the local density
    of ``values`` (a histogram-based swarm)."""
    edges = np.linspace(values.min(), values.max() + 1e-12, bins + 1)
    which = np.clip(np.digitize(values, edges) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    rank = np.zeros(values.size)
    order = np.argsort(which, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank[order] = np.arange(values.size) - np.repeat(starts, counts)
    signed = np.where(rank % 2 == 0, 1.0, -1.0) * np.ceil(rank / 2)
    return width * signed / max(counts.max() / 2, 1)


def plot_beeswarm(shap: pd.DataFrame, x: pd.DataFrame, path: str | Path, seed: int = 0) -> Path:
    """Beeswarm of SHAP values; columns of ``shap`` and ``x`` in plotting order (top first)."""
    features = list(x.columns)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(x), min(len(x), MAX_POINTS), replace=False))
    fig = Figure(figsize=(6.0, 0.55 * len(features) + 1.2))
    ax = fig.add_subplot()
    for row, feature in enumerate(features):
        values = shap[feature].to_numpy()[keep]
        colour = x[feature].to_numpy(dtype=float)[keep]
        lo, hi = np.percentile(colour, (5, 95))
        y = len(features) - 1 - row + _swarm_offsets(values)
        ax.scatter(
            values,
            y,
            c=colour,
            cmap=CMAP,
            norm=Normalize(lo, hi if hi > lo else lo + 1),
            s=3,
            linewidths=0,
            rasterized=True,
        )
    ax.axvline(0.0, color="0.5", linewidth=0.6)
    ax.set_yticks(range(len(features)), [_label(f) for f in reversed(features)])
    ax.set_xlabel("SHAP value (impact on predicted SOD)")
    bar = fig.colorbar(ax.collections[0], ax=ax, ticks=[])
    bar.set_label("feature value: low → high")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")


def plot_ranking(ranking: pd.DataFrame, path: str | Path) -> Path:
    """Mean |SHAP| per feature +- std across grouped folds
    (left) and permutation importance (right)."""
    features = list(ranking["feature"])
    y = np.arange(len(features))[::-1]
    fig = Figure(figsize=(7.5, 0.45 * len(features) + 1.3))
    ax_shap, ax_perm = fig.subplots(1, 2, sharey=True)
    ax_shap.barh(
        y, ranking["mean_abs_shap"], xerr=ranking["mean_abs_shap_std"], color="#004488", capsize=2
    )
    ends = ranking["mean_abs_shap"] + ranking["mean_abs_shap_std"]
    for yi, end, (lo, hi) in zip(
        y, ends, ranking[["min_rank", "max_rank"]].to_numpy(), strict=True
    ):
        ax_shap.annotate(
            f"rank {lo:g}" if lo == hi else f"rank {lo:g}–{hi:g}",
            (end, yi),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax_shap.set_xlim(0, 1.3 * ends.max())
    ax_shap.set_yticks(y, [_label(f) for f in features])
    ax_shap.set_xlabel("mean |SHAP| on held-out electrodes")
    ax_perm.barh(
        y,
        ranking["permutation_mae_increase"],
        xerr=ranking["permutation_mae_increase_std"],
        color="#DDAA33",
        capsize=2,
    )
    ax_perm.set_xlabel("MAE increase when shuffled (permutation)")
    for ax in (ax_shap, ax_perm):
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("feature importance across grouped folds (mean ± std)", fontsize=9)
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")


def plot_dependence(shap: pd.DataFrame, x: pd.DataFrame, feature: str, path: str | Path) -> Path:
    """SHAP value of ``feature`` vs its value, coloured by
    DoD (or by nothing when DoD is not a feature)."""
    fig = Figure(figsize=(4.4, 3.4))
    ax = fig.add_subplot()
    if DOD in x.columns and feature != DOD:
        points = ax.scatter(
            x[feature], shap[feature], c=x[DOD], cmap="viridis", s=3, linewidths=0, rasterized=True
        )
        fig.colorbar(points, ax=ax).set_label(_label(DOD))
    else:
        ax.scatter(x[feature], shap[feature], s=3, linewidths=0, rasterized=True)
    ax.axhline(0.0, color="0.5", linewidth=0.6)
    ax.set_xlabel(_label(feature))
    ax.set_ylabel(f"SHAP value of {feature}")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")
