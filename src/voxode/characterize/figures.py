"""Figures of the characterization: tau(z) and porosity(z) vs depth, per-feature histograms.

Depths are in um from the current collector (z = 0); tau(z) is the tortuosity factor of the
slab from the separator plane down to depth z (paper, Figure 2B). Files are written
atomically; the format follows the suffix (.png, .svg, .pdf).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from voxode.characterize.profile import DepthProfile
from voxode.io.figures import save_figure

DPI = 150

HISTOGRAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("volume_um3", "volume (um$^3$)"),
    ("d_eq_um", "equivalent diameter (um)"),
    ("active_area_um2", "active area (um$^2$)"),
    ("cbd_contact_area_um2", "CBD contact area (um$^2$)"),
    ("nmc_contact_area_um2", "NMC contact area (um$^2$)"),
    ("sphericity", "sphericity"),
    ("centroid_z_um", "centroid z (um)"),
    ("tau_electrolyte", "tau, electrolyte"),
    ("tau_electrolyte_cbd", "tau, electrolyte + CBD"),
)


def plot_depth_profile(profiles: dict[str, DepthProfile], path: str | Path) -> Path:
    """tau(z) (left, log scale) and plane porosity(z) (right) of labelled profiles, vs depth."""
    fig = Figure(figsize=(9, 4))
    ax_tau, ax_eps = fig.subplots(1, 2, sharex=True)
    for name, prof in profiles.items():
        finite = np.isfinite(prof.tau)
        ax_tau.plot(prof.z_um[finite], prof.tau[finite], label=name)
        centres = prof.z_um + 0.5 * prof.voxel_um
        ax_eps.plot(centres, prof.plane_porosity, label=name)
    ax_tau.set_yscale("log")
    ax_tau.set_xlabel("z, distance from current collector (µm)")
    ax_tau.set_ylabel("tortuosity factor, separator to z")
    ax_eps.set_xlabel("z, distance from current collector (µm)")
    ax_eps.set_ylabel("porosity of plane z")
    for ax in (ax_tau, ax_eps):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")


def plot_feature_histograms(particles: pd.DataFrame, path: str | Path, bins: int = 30) -> Path:
    """One histogram per particle feature (border particles hatched separately)."""
    columns = [(c, label) for c, label in HISTOGRAM_COLUMNS if c in particles.columns]
    ncols = 3
    nrows = max(1, -(-len(columns) // ncols))
    fig = Figure(figsize=(4 * ncols, 3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    border = (
        particles["border"].to_numpy(bool)
        if "border" in particles.columns
        else np.zeros(len(particles), bool)
    )
    for ax, (col, label) in zip(axes.ravel(), columns, strict=False):
        values = particles[col].to_numpy(float)
        ok = np.isfinite(values)
        edges = np.histogram_bin_edges(values[ok], bins=bins) if ok.any() else bins
        ax.hist(
            [values[ok & ~border], values[ok & border]],
            bins=edges,
            stacked=True,
            label=["interior", "border"],
            color=["tab:blue", "tab:gray"],
        )
        ax.set_xlabel(label)
        ax.set_ylabel("particles")
    for ax in axes.ravel()[len(columns) :]:
        ax.axis("off")
    axes[0, 0].legend()
    fig.tight_layout()
    return save_figure(fig, path, dpi=DPI, bbox_inches="tight")
