"""Figures of the design studies (matplotlib, 200 dpi PNG): voltage curves per design or rate,
SOD vs depth per design, the capacity gain with its spread over seeds, and the rate test."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from voxode.io.figures import save_figure

DPI = 200
VOLT_LABEL = "cell voltage vs Li/Li$^+$ (V)"
DEPTH_LABEL = "distance from the current collector (µm)"
X_LABELS = {
    "capacity_mah_cm2": "capacity (mAh/cm$^2$)",
    "capacity_mah_g": "capacity (mAh/g$_{NMC}$)",
    "capacity_ah_l": "capacity (Ah/L$_{electrode}$)",
}
GAIN_UNITS = {
    "gain_mah_cm2_pct": "mAh/cm$^2$",
    "gain_mah_g_pct": "mAh/g$_{NMC}$",
    "gain_ah_l_pct": "Ah/L",
}


def rate_label(c_rate: float) -> str:
    """C/10, C/2, 1C, 2C ... (C/n when 1/rate is a whole number)."""
    if c_rate < 1 and abs(1 / c_rate - round(1 / c_rate)) < 1e-9:
        return f"C/{round(1 / c_rate)}"
    return f"{c_rate:g}C"


def plot_voltage_groups(
    curves: Mapping[str, Sequence[pd.DataFrame]],
    path: Path,
    *,
    x: str,
    cutoff_v: float,
    legend_title: str,
    colors: Sequence | None = None,
) -> Path:
    """Voltage vs capacity (column ``x`` of voltage.csv), one colour per group (design or
    rate) and one line per seed."""
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    handles = []
    for k, (label, frames) in enumerate(curves.items()):
        color = colors[k] if colors is not None else f"C{k}"
        for frame in frames:
            ax.plot(
                frame[x],
                frame["voltage_v"],
                color=color,
                lw=1.2,
                alpha=0.85 if len(frames) > 1 else 1.0,
            )
        seeds = f" ({len(frames)} seeds)" if len(frames) > 1 else ""
        handles.append(
            Line2D(
                [],
                [],
                color=color,
                lw=1.5,
                label=f"{label}{seeds}" if frames else f"{label} (failed)",
            )
        )
    ax.axhline(cutoff_v, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(VOLT_LABEL)
    ax.set_xlim(left=0)
    ax.legend(handles=handles, title=legend_title, frameon=False, fontsize=8, title_fontsize=8)
    return save_figure(fig, path, dpi=DPI)


def plot_sod_depth_groups(
    profiles: Mapping[str, Sequence[pd.DataFrame]],
    path: Path,
    *,
    column: str = "sod_100",
    interfaces_um: Sequence[float] = (),
) -> Path:
    """Volume-weighted mean particle SOD vs depth per design (columns z_um and ``column`` of
    :func:`voxode.electrochem.result.sod_depth_profile`): mean over seeds, min-max band."""
    dod = int(column.split("_")[1])
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    for k, (label, frames) in enumerate(profiles.items()):
        if not frames:
            continue
        z = frames[0]["z_um"].to_numpy()
        values = np.vstack([f[column].to_numpy() for f in frames])
        with warnings.catch_warnings():  # slabs without a particle centroid stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(values, axis=0)
        ax.plot(
            z,
            mean,
            color=f"C{k}",
            marker="o",
            ms=3,
            lw=1.4,
            label=label + (f" (mean of {len(frames)} seeds, min-max)" if len(frames) > 1 else ""),
        )
        if len(frames) > 1:
            ax.fill_between(
                z,
                np.nanmin(values, axis=0),
                np.nanmax(values, axis=0),
                color=f"C{k}",
                alpha=0.2,
                lw=0,
            )
    for z_i in interfaces_um:
        ax.axvline(z_i, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel(DEPTH_LABEL)
    ax.set_ylabel(f"mean particle SOD at DoD {dod} %\n(volume-weighted)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.text(0.01, 0.02, "current collector", transform=ax.transAxes, fontsize=7, color="0.4")
    ax.text(0.99, 0.02, "separator", transform=ax.transAxes, fontsize=7, color="0.4", ha="right")
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path, dpi=DPI)


def plot_gain(
    table: pd.DataFrame, path: Path, *, reference: str, column: str, c_rate: float
) -> Path:
    """Gain of each design over the reference (column ``column`` of the comparison table, %):
    one point per seed, the mean with min-max whiskers and a +-1 std bar."""
    designs = [d for d in dict.fromkeys(table["design"]) if d != reference]
    fig = Figure(figsize=(1.6 + 1.3 * max(len(designs), 1), 3.8), layout="constrained")
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # fixed jitter: the figure is reproducible
    for k, design in enumerate(designs):
        gains = table.loc[table["design"] == design, column].dropna().to_numpy()
        if gains.size == 0:
            ax.text(k, 0, "failed", ha="center", va="bottom", fontsize=8, color="C3")
            continue
        ax.scatter(k + rng.uniform(-0.12, 0.12, gains.size), gains, s=14, color="0.45", zorder=3)
        mean = gains.mean()
        ax.errorbar(
            k + 0.25,
            mean,
            yerr=[[mean - gains.min()], [gains.max() - mean]],
            fmt="o",
            color=f"C{k + 1}",
            ms=6,
            capsize=4,
            lw=1.0,
            zorder=4,
        )
        if gains.size > 1:
            ax.errorbar(
                k + 0.25,
                mean,
                yerr=gains.std(ddof=1),
                fmt="none",
                color=f"C{k + 1}",
                lw=4,
                alpha=0.4,
            )
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xticks(range(len(designs)), designs, rotation=15 if len(designs) > 2 else 0)
    ax.set_xlim(-0.6, len(designs) - 0.4)
    ax.set_ylabel(f"capacity gain over {reference} (%)")
    ax.set_title(f"{rate_label(c_rate)}, capacity in {GAIN_UNITS[column]}", fontsize=9)
    ax.legend(
        handles=[
            Line2D([], [], ls="", marker="o", ms=4, color="0.45", label="seed"),
            Line2D([], [], ls="-", marker="o", color="k", lw=1.0, label="mean, min-max"),
            Line2D([], [], ls="-", color="k", lw=4, alpha=0.4, label="±1 std"),
        ],
        frameon=False,
        fontsize=7,
        loc="best",
    )
    return save_figure(fig, path, dpi=DPI)


def plot_rate_capability(
    summary: pd.DataFrame,
    path: Path,
    *,
    name: str,
    thickness_um: float,
    experimental: pd.DataFrame | None = None,
) -> Path:
    """Rate test: (a) mAh/g_NMC and (b) mAh/cm^2 (Ah/L of electrode on the right axis) vs C-rate
    on a log axis; simulation mean with min-max bars over seeds; the experiment (columns rate,
    capacity_mah_g_mean/min/max) as open symbols with min-max bars."""
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    a, b = fig.subplots(1, 2)
    rates = summary["rate"].to_numpy()

    def draw(ax: Axes, col: str, label: str, **style) -> None:
        mean = summary[f"{col}_mean"].to_numpy()
        err = [mean - summary[f"{col}_min"].to_numpy(), summary[f"{col}_max"].to_numpy() - mean]
        ax.errorbar(rates, mean, yerr=err, capsize=3, label=label, **style)

    draw(a, "capacity_mah_g", f"simulation, {name}", fmt="-o", color="C0", ms=5)
    if experimental is not None:
        mean = experimental["capacity_mah_g_mean"].to_numpy()
        err = [
            mean - experimental["capacity_mah_g_min"].to_numpy(),
            experimental["capacity_mah_g_max"].to_numpy() - mean,
        ]
        cells = int(experimental["cells"].max())
        a.errorbar(
            experimental["rate"],
            mean,
            yerr=err,
            fmt="s",
            mfc="none",
            color="C3",
            ms=6,
            capsize=3,
            label=f"experiment (mean, min-max of {cells} cells)" if cells > 1 else "experiment",
        )
    draw(b, "capacity_mah_cm2", f"simulation, {name}", fmt="-o", color="C0", ms=5)
    right = b.secondary_yaxis(
        "right", functions=(lambda q: q / (thickness_um * 1e-4), lambda v: v * thickness_um * 1e-4)
    )
    right.set_ylabel("capacity (Ah/L$_{electrode}$)")
    ticks = sorted(set(rates) | (set(experimental["rate"]) if experimental is not None else set()))
    for ax, col in ((a, "capacity_mah_g"), (b, "capacity_mah_cm2")):
        ax.set_xscale("log")
        ax.set_xticks(ticks, [rate_label(r) for r in ticks])
        ax.minorticks_off()
        ax.set_xlabel("discharge rate (C-rate, log scale)")
        ax.set_ylabel(X_LABELS[col])
        ax.set_xlim(ticks[0] / 1.5, ticks[-1] * 1.5)
        tops = [summary[f"{col}_max"].max()]
        if experimental is not None and col == "capacity_mah_g":
            tops.append(experimental["capacity_mah_g_max"].max())
        finite = [t for t in tops if np.isfinite(t)]  # none when every case failed
        ax.set_ylim(0, 1.1 * max(finite) if finite else None)
        ax.legend(frameon=False, fontsize=8, loc="lower left")
    a.set_title("(a) specific capacity", fontsize=9, loc="left")
    b.set_title("(b) areal and volumetric capacity", fontsize=9, loc="left")
    return save_figure(fig, path, dpi=DPI)


def plot_screening(table: pd.DataFrame, path: Path, *, c_rate: float) -> Path:
    """(a) every screened design's surrogate-predicted capacity, best first, with the simulated
    capacity of the verified ones; (b) predicted vs simulated for the verified designs (x = y
    dashed), relative errors annotated."""
    ranked = table.dropna(subset=["predicted_mah_cm2"]).sort_values(
        "predicted_mah_cm2", ascending=False
    )
    verified = ranked.dropna(subset=["simulated_mah_cm2"])
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1.0]})
    order = np.arange(len(ranked))
    ax.bar(order, ranked["predicted_mah_cm2"], color="C0", alpha=0.55, label="surrogate")
    where = [order[ranked.index.get_loc(i)] for i in verified.index]
    ax.scatter(
        where,
        verified["simulated_mah_cm2"],
        color="C3",
        marker="D",
        s=22,
        zorder=3,
        label="simulated",
    )
    if len(order) <= 24:
        ax.set_xticks(order, [str(k + 1) for k in order])
    ax.set_xlabel("design rank (by predicted capacity)")
    ax.set_ylabel("capacity (mAh/cm$^2$)")
    low = (
        np.nanmin(np.r_[ranked["predicted_mah_cm2"], verified["simulated_mah_cm2"]])
        if len(ranked)
        else 0.0
    )
    ax.set_ylim(0.9 * low, None)
    failed = len(table) - len(ranked)
    ax.set_title(
        f"{len(ranked)} designs scored at {rate_label(c_rate)}"
        + (f" ({failed} could not be generated)" if failed else ""),
        fontsize=9,
    )
    ax.legend(frameon=False, fontsize=8)
    if len(verified):
        pred, sim = (
            verified["predicted_mah_cm2"].to_numpy(),
            verified["simulated_mah_cm2"].to_numpy(),
        )
        lims = [min(pred.min(), sim.min()) * 0.97, max(pred.max(), sim.max()) * 1.03]
        bx.plot(lims, lims, ls="--", color="0.5", lw=0.8)
        bx.scatter(sim, pred, color="C3", marker="D", s=22, zorder=3)
        for s, p, name in zip(sim, pred, verified["design"], strict=True):
            bx.annotate(
                f"{name.rsplit('-', 1)[-1]}: {100 * (p - s) / s:+.1f} %",
                (s, p),
                fontsize=7,
                xytext=(4, -10),
                textcoords="offset points",
            )
        bx.set_xlim(lims)
        bx.set_ylim(lims)
    else:
        bx.text(0.5, 0.5, "no design verified", ha="center", va="center", transform=bx.transAxes)
    bx.set_xlabel("simulated capacity (mAh/cm$^2$)")
    bx.set_ylabel("surrogate-predicted capacity (mAh/cm$^2$)")
    return save_figure(fig, path, dpi=DPI)
