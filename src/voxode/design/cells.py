"""Simulated designs beside measured cells: the test of a calibrated parameter set.

A set calibrated on some designs' cells (the *fitted* designs, e.g. the paper's pristine) is
tested by the designs it never saw (the *predicted* ones, e.g. the bi-layer). This module puts
the capacities of design comparisons (:func:`.compare.compare_designs`, one per C-rate) beside
a measured rate test (:mod:`voxode.electrochem.rate_data`), row by row, and the gains over the
reference design beside the cells' gains.

Rows are matched on the measured ``c_rate`` (relative to each electrode's own nominal capacity
in the simulations, as in the calibration), to 1e-9.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from voxode.design.compare import Comparison
from voxode.design.figures import DPI, X_LABELS, rate_label
from voxode.io.figures import save_figure

ROLES = ("fitted", "predicted")


def _measured(data: pd.DataFrame, design: str, c_rate: float) -> tuple[float, float]:
    """Capacity (mAh/g) and range over cells (mAh/g, NaN if not given) of the row of ``design``
    at ``c_rate``; NaN, NaN where the data have none."""
    if "c_rate" not in data:
        return np.nan, np.nan
    rows = data[
        (data["design"] == design)
        & np.isclose(data["c_rate"], c_rate, rtol=1e-9, atol=0)
        & data["capacity_mah_g"].notna()
    ]
    if rows.empty:
        return np.nan, np.nan
    row = rows.iloc[0]
    return float(row["capacity_mah_g"]), float(row.get("range_mah_g", np.nan))


def against_cells(
    comparisons: Mapping[float, Comparison],
    designs: Mapping[str, str],
    data: pd.DataFrame,
    fitted: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated capacities and gains beside the measured ones.

    Parameters
    ----------
    comparisons : mapping of float to Comparison
        C-rate (1/h) -> a comparison of the designs at that rate, its first design the reference.
    designs : mapping of str to str
        Simulated design (the recipe's name in the comparisons) -> the design's name in
        ``data``; the first is the reference of the gains.
    data : pandas.DataFrame
        The measured rate test (:func:`voxode.electrochem.rate_data.read_rate_table`).
    fitted : sequence of str
        Designs of ``data`` whose rows the parameter set was calibrated on.

    Returns
    -------
    capacities : pandas.DataFrame
        Per rate and design: role (fitted / predicted), measured capacity and range (mAh/g),
        simulated mean and std over seeds (mAh/g), the seeds that finished and simulated -
        measured (mAh/g).
    gains : pandas.DataFrame
        Per rate and non-reference design: role, the cells' gain over the reference and the
        simulated gain's mean and std over seeds (%, capacity in mAh/g).
    """
    reference = next(iter(designs.values()))
    capacities, gains = [], []
    for c_rate, comparison in comparisons.items():
        summary = comparison.summary.set_index("design")
        ref_measured, _ = _measured(data, reference, c_rate)
        for simulated, design in designs.items():
            row = summary.loc[simulated]
            measured, spread = _measured(data, design, c_rate)
            role = ROLES[0] if design in fitted else ROLES[1]
            capacities.append(
                {
                    "design": design,
                    "c_rate": c_rate,
                    "role": role,
                    "measured_mah_g": measured,
                    "measured_range_mah_g": spread,
                    "simulated_mah_g_mean": row["capacity_mah_g_mean"],
                    "simulated_mah_g_std": row["capacity_mah_g_std"],
                    "n_ok": int(row["n_ok"]),
                    "difference_mah_g": row["capacity_mah_g_mean"] - measured,
                }
            )
            if design != reference:
                gains.append(
                    {
                        "design": design,
                        "c_rate": c_rate,
                        "role": role,
                        "measured_gain_pct": 100.0 * (measured / ref_measured - 1.0),
                        "simulated_gain_pct_mean": row["gain_mah_g_pct_mean"],
                        "simulated_gain_pct_std": row["gain_mah_g_pct_std"],
                    }
                )
    return pd.DataFrame(capacities), pd.DataFrame(gains)


def plot_against_cells(capacities: pd.DataFrame, path: Path) -> Path:
    """Measured (squares, +-half the range over cells) and simulated (circles, +-1 std over
    seeds) capacity per design vs C-rate; fitted designs filled, predicted ones open."""
    fig = Figure(figsize=(5.2, 3.8), layout="constrained")
    ax = fig.subplots()
    rates = sorted(capacities["c_rate"].unique())
    designs = list(dict.fromkeys(capacities["design"]))
    width = 0.8 / max(len(designs), 1)
    for k, design in enumerate(designs):
        rows = capacities[capacities["design"] == design]
        offset = (k - (len(designs) - 1) / 2) * width
        x = np.array([rates.index(r) for r in rows["c_rate"]]) + offset
        fill = f"C{k}" if rows["role"].iloc[0] == ROLES[0] else "none"
        ax.errorbar(
            x - 0.12 * width,
            rows["measured_mah_g"],
            yerr=rows["measured_range_mah_g"] / 2,  # NaN (no range given): no bar
            fmt="s",
            color=f"C{k}",
            mfc=fill,
            ms=7,
            capsize=3,
        )
        ax.errorbar(
            x + 0.12 * width,
            rows["simulated_mah_g_mean"],
            yerr=rows["simulated_mah_g_std"],  # NaN (one seed): no bar
            fmt="o",
            color=f"C{k}",
            mfc=fill,
            ms=6,
            capsize=3,
        )
    ax.set_xticks(range(len(rates)), [rate_label(r) for r in rates])
    ax.set_xlim(-0.6, len(rates) - 0.4)
    tops = capacities[["measured_mah_g", "simulated_mah_g_mean"]].max().max()
    ax.set_ylim(0.0, 1.25 * tops if np.isfinite(tops) else None)  # room for the legend
    ax.set_xlabel("discharge rate")
    ax.set_ylabel(X_LABELS["capacity_mah_g"])
    handles = [
        Line2D([], [], ls="", marker="s", color="0.3", mfc="none", label="cells (± range/2)"),
        Line2D([], [], ls="", marker="o", color="0.3", mfc="none", label="3D model (± std, seeds)"),
        Line2D([], [], ls="", marker="o", color="0.3", label="filled: fitted design"),
        Line2D([], [], ls="", marker="o", color="0.3", mfc="none", label="open: predicted"),
    ]
    handles += [
        Line2D([], [], ls="", marker="s", color=f"C{k}", label=d) for k, d in enumerate(designs)
    ]
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="best")
    return save_figure(fig, path, dpi=DPI)


__all__ = ["ROLES", "against_cells", "plot_against_cells"]
