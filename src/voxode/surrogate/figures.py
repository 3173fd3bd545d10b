"""Figures of the surrogate stage: parity plot and the paper's per-particle analyses.

Input frames follow the dataset contract (:mod:`voxode.surrogate.features`); a column
``sod_pred`` (surrogate prediction) is drawn beside the simulated ``sod`` when present. Depths
are in um from the current collector. Figures are plain matplotlib Figures (no pyplot state),
written atomically; the format follows the suffix (.png, .svg, .pdf).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from voxode.errors import DatasetError
from voxode.io.figures import save_figure
from voxode.options import check
from voxode.surrogate.features import DOD, LABELS, PREDICTION, TARGET, require_columns

DPI = 200
SIZE_CLASSES = ("small", "medium", "large")
SIZE_COLOURS = ("#4477AA", "#228833", "#EE6677")  # Paul Tol's bright scheme


def plot_parity(frame: pd.DataFrame, path: str | Path, mae: float | None = None) -> Path:
    """Predicted vs simulated SOD, one point per row, coloured by DoD, with the x = y line."""
    require_columns(frame, (TARGET, PREDICTION, DOD), "parity data")
    fig = Figure(figsize=(4.2, 4.0))
    ax = fig.add_subplot()
    dods = np.unique(frame[DOD])
    colours = _dod_colours(dods)
    for d, colour in zip(dods, colours, strict=True):
        part = frame[frame[DOD] == d]
        ax.scatter(
            part[TARGET],
            part[PREDICTION],
            s=3,
            alpha=0.4,
            color=colour,
            linewidths=0,
            label=f"DoD {100 * d:g} %",
        )
    mae = float(np.abs(frame[PREDICTION] - frame[TARGET]).mean()) if mae is None else mae
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, label=f"x = y (MAE {mae:.3f})")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        aspect="equal",
        xlabel="simulated SOD",
        ylabel="surrogate SOD (held-out electrode)",
    )
    ax.legend(loc="upper left", fontsize=7, markerscale=3)
    ax.grid(alpha=0.3)
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")


def _dod_colours(dods: np.ndarray) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.1 + 0.8 * i / max(len(dods) - 1, 1)) for i in range(len(dods))]


def _final(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at the largest DoD (the end of discharge when DoD 1 is present)."""
    return frame[np.isclose(frame[DOD], frame[DOD].max())]


def sod_vs_depth(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Volume-weighted mean SOD (and prediction) per depth
    bin at the largest DoD, all cases pooled."""
    require_columns(frame, (TARGET, DOD, "centroid_z_um", "volume_um3"), "SOD vs depth data")
    final = _final(frame)
    edges = np.linspace(0.0, final["centroid_z_um"].max() * (1 + 1e-9), bins + 1)
    which = np.digitize(final["centroid_z_um"], edges) - 1
    columns = [c for c in (TARGET, PREDICTION) if c in final.columns]
    w = final["volume_um3"].to_numpy()
    out = {"z_um": 0.5 * (edges[:-1] + edges[1:])}
    for c in columns:
        num = np.bincount(which, w * final[c].to_numpy(), bins)
        den = np.bincount(which, w, bins)
        out[c] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return pd.DataFrame(out)


def plot_sod_vs_depth(
    frame: pd.DataFrame, path: str | Path, profile: pd.DataFrame | None = None, bins: int = 10
) -> Path:
    """(a) Volume-weighted mean SOD vs depth at the end of discharge, simulated and surrogate, with
    the electrolyte tortuosity vs depth on a twin axis: the depth profile (columns z_um,
    tau_electrolyte) when given, else each particle's ``tau_electrolyte`` at its centroid."""
    curve = sod_vs_depth(frame, bins)
    fig = Figure(figsize=(5.2, 3.6))
    ax = fig.add_subplot()
    ax.plot(curve["z_um"], curve[TARGET], "o-", color="#004488", label="simulated")
    if PREDICTION in curve:
        ax.plot(curve["z_um"], curve[PREDICTION], "s--", color="#BB5566", label="surrogate")
    ax.set_xlabel(LABELS["centroid_z_um"])
    ax.set_ylabel(f"volume-weighted mean SOD, DoD {100 * frame[DOD].max():g} %")
    ax.grid(alpha=0.3)
    twin = ax.twinx()
    if profile is not None:
        require_columns(profile, ("z_um", "tau_electrolyte"), "depth profile")
        finite = np.isfinite(profile["tau_electrolyte"])
        twin.plot(
            profile["z_um"][finite],
            profile["tau_electrolyte"][finite],
            color="0.4",
            label="tortuosity",
        )
    elif "tau_electrolyte" in frame.columns:
        final = _final(frame)
        twin.scatter(
            final["centroid_z_um"],
            final["tau_electrolyte"],
            s=2,
            color="0.5",
            alpha=0.4,
            label="tortuosity (particles)",
        )
    twin.set_ylabel("electrolyte tortuosity, separator to depth")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right", fontsize=7)
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")


def size_classes(frame: pd.DataFrame, thickness_um: float | None = None) -> pd.DataFrame:
    """Rows at the largest DoD in the current-collector half, with a ``size`` column: volume
    terciles (small, medium, large). ``thickness_um`` defaults to the deepest particle top."""
    require_columns(frame, (TARGET, DOD, "centroid_z_um", "volume_um3"), "size-class data")
    final = _final(frame)
    if thickness_um is None:
        top = final["centroid_z_um"] + (
            0.5 * final["d_eq_um"] if "d_eq_um" in final.columns else 0.0
        )
        thickness_um = float(top.max())
    half = final[final["centroid_z_um"] < 0.5 * thickness_um]
    if len(half) < 3:
        raise DatasetError(
            "fewer than 3 particles in the current-collector half: cannot form size terciles"
        )
    size = pd.qcut(half["volume_um3"], 3, labels=list(SIZE_CLASSES))
    return half.assign(size=size)


def plot_sod_by_size(
    frame: pd.DataFrame, path: str | Path, thickness_um: float | None = None
) -> Path:
    """(b) SOD histograms with fitted normal curves of small/medium/large particles (volume
    terciles) in the current-collector half at the end of discharge (paper, Fig. 2C); a second
    panel for the surrogate when ``sod_pred`` is present."""
    classes = size_classes(frame, thickness_um)
    columns = [c for c in (TARGET, PREDICTION) if c in classes.columns]
    fig = Figure(figsize=(4.6 * len(columns), 3.4))
    for ax, column in zip(
        np.atleast_1d(fig.subplots(1, len(columns), sharey=True)), columns, strict=True
    ):
        _histograms(ax, classes, column)
        ax.set_title("simulated" if column == TARGET else "surrogate", fontsize=9)
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")


def _histograms(ax: Axes, classes: pd.DataFrame, column: str) -> None:
    values = classes[column].to_numpy()
    edges = np.linspace(min(values.min(), 0.0), max(values.max(), 1.0), 31)
    grid = np.linspace(edges[0], edges[-1], 200)
    for name, colour in zip(SIZE_CLASSES, SIZE_COLOURS, strict=True):
        part = classes.loc[classes["size"] == name, column].to_numpy()
        if part.size < 2:
            continue
        mu, sigma = part.mean(), part.std(ddof=1)
        ax.hist(part, bins=edges, density=True, alpha=0.35, color=colour)
        if sigma > 0:
            ax.plot(
                grid,
                stats.norm.pdf(grid, mu, sigma),
                color=colour,
                label=f"{name}: µ {mu:.2f}, σ {sigma:.3f} (n {part.size})",
            )
    ax.set_xlabel(f"SOD, DoD {100 * classes[DOD].max():g} %, current-collector half")
    ax.set_ylabel("probability density")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def plot_paper_figures(
    frame: pd.DataFrame,
    out_dir: str | Path,
    profile: pd.DataFrame | None = None,
    thickness_um: float | None = None,
) -> list[Path]:
    """Both analysis figures into ``out_dir``: sod_vs_depth.png and sod_by_size.png.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``z_um``, ``d_eq_um``, ``dod`` and the SOD (simulated, and predicted when
        present).
    out_dir : path
        Folder for the figures.
    profile : pandas.DataFrame, optional
        Depth profile (``voxode characterize --profile``) for tau vs depth.
    thickness_um : float, optional
        Electrode thickness (um); default: from the deepest particle.

    Returns
    -------
    list of Path
        The figures written.
    """
    check(thickness_um=thickness_um)
    if frame.empty:
        raise DatasetError("no rows to plot")
    out_dir = Path(out_dir)
    return [
        plot_sod_vs_depth(frame, out_dir / "sod_vs_depth.png", profile),
        plot_sod_by_size(frame, out_dir / "sod_by_size.png", thickness_um),
    ]
