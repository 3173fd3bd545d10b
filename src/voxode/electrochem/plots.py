"""Figures of a discharge: the voltage curve, several curves side by side, SOD vs depth.

Plain matplotlib Figures (no pyplot state, no backend switch), written atomically as 200 dpi
PNG by :func:`voxode.io.figures.save_figure`. Capacities in mAh/g of NMC and mAh/cm^2,
depths in um from the current collector.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from voxode.electrochem.result import SOD_DODS
from voxode.io.figures import save_figure

DPI = 200
FIGSIZE_IN = (5.0, 3.6)
VOLT_LABEL = "cell voltage vs Li/Li$^+$ (V)"


def plot_voltage(voltage: pd.DataFrame, path: Path, cutoff_v: float) -> Path:
    """Voltage vs capacity of one discharge (a :func:`voxode.electrochem.result.voltage_table`):
    mAh/g of NMC below, mAh/cm^2 on the top axis, the cut-off ``cutoff_v`` (V) dashed."""
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    ax.plot(voltage["capacity_mah_g"], voltage["voltage_v"], color="C0")
    ax.axhline(cutoff_v, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("capacity (mAh/g$_{NMC}$)")
    ax.set_ylabel(VOLT_LABEL)
    per_gram = voltage["capacity_mah_cm2"].iloc[-1] / max(voltage["capacity_mah_g"].iloc[-1], 1e-12)
    top = ax.secondary_xaxis(
        "top", functions=(lambda q: q * per_gram, lambda q: q / max(per_gram, 1e-12))
    )
    top.set_xlabel("capacity (mAh/cm$^2$)")
    return save_figure(fig, path, dpi=DPI)


def plot_voltage_curves(curves: dict[str, pd.DataFrame], path: Path, cutoff_v: float) -> Path:
    """Voltage vs capacity (mAh/cm^2) of several discharges in one figure, e.g. the 3D model
    next to the DFN; each frame has columns capacity_mah_cm2 and voltage_v."""
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    for k, (label, frame) in enumerate(curves.items()):
        ax.plot(
            frame["capacity_mah_cm2"],
            frame["voltage_v"],
            color=f"C{k}",
            label=label,
            ls="-" if k == 0 else "--",
        )
    ax.axhline(cutoff_v, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("capacity (mAh/cm$^2$)")
    ax.set_ylabel(VOLT_LABEL)
    ax.legend(frameon=False)
    return save_figure(fig, path, dpi=DPI)


def plot_sod_depth(profile: pd.DataFrame, path: Path) -> Path:
    """Mean particle SOD vs depth at each DoD of SOD_DODS (a
    :func:`voxode.electrochem.result.sod_depth_profile`)."""
    fig = Figure(figsize=FIGSIZE_IN, layout="constrained")
    ax = fig.subplots()
    colours = colormaps["viridis"]
    for k, d in enumerate(SOD_DODS):
        ax.plot(
            profile["z_um"],
            profile[f"sod_{d:03d}"],
            marker="o",
            ms=3,
            color=colours(k / (len(SOD_DODS) - 1)),
            label=f"DoD {d} %",
        )
    ax.set_xlabel("distance from the current collector (um)")
    ax.set_ylabel("mean particle SOD")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path, dpi=DPI)
