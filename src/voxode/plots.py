"""The electrode figure: phase sections and the particle size distribution against the recipe's.

Drawn with matplotlib's Agg/SVG canvases (no pyplot, no display needed). Lengths in um.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter
from scipy import stats

from voxode.electrode import CBD, NMC, PORE, Electrode
from voxode.errors import VoxodeError
from voxode.io.figures import save_figure
from voxode.recipe import Recipe
from voxode.summary import particle_diameters_um, volume_weighted_quantiles_um

# Paul Tol's high-contrast scheme (colour-blind safe, distinct in greyscale); pores light grey.
PHASE_COLOURS: dict[int, str] = {PORE: "#E8E8E8", NMC: "#004488", CBD: "#DDAA33"}
PHASE_LABELS: dict[int, str] = {PORE: "pore", NMC: "NMC", CBD: "CBD"}
MEASURED_COLOUR = "#BB5566"
TARGET_COLOUR = "#000000"
QUANTILES = (0.1, 0.5, 0.9)
_TICKS_UM = [m * 10.0**e for e in range(-2, 4) for m in (1, 2, 5)]
FORMATS = {".png", ".svg", ".pdf"}
DPI = 300
_STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.linewidth": 0.6,
    "svg.fonttype": "none",
}


def plot_electrode(electrode: Electrode, path: Path, recipe: Recipe | None = None) -> Path:
    """Write the electrode figure (.png at 300 dpi, .svg or .pdf by extension), atomically.

    (a) xz section at mid-y, current collector left; (b) xy section at mid-thickness; (c) the
    measured volume-weighted cumulative size distribution with D10/D50/D90, and the recipe's
    target when ``recipe`` is given.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise VoxodeError(f"{path}: choose a figure file ending in {', '.join(sorted(FORMATS))}")
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 5.0), layout="constrained")
        grid = fig.add_gridspec(2, 2, height_ratios=(1.0, 1.5), width_ratios=(1.0, 1.25))
        _xz_section(fig.add_subplot(grid[0, :]), electrode)
        _xy_section(fig.add_subplot(grid[1, 0]), electrode)
        _size_distribution(fig.add_subplot(grid[1, 1]), electrode, recipe)
        handles = [
            Patch(facecolor=PHASE_COLOURS[p], edgecolor="0.3", linewidth=0.4, label=PHASE_LABELS[p])
            for p in (PORE, NMC, CBD)
        ]
        fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False)
        return save_figure(fig, path, dpi=DPI)


def _phase_image(ax: Axes, image: np.ndarray, extent: tuple[float, float, float, float]) -> None:
    """Show a 2D phase array (rows = vertical axis) with the phase colours."""
    cmap = ListedColormap([PHASE_COLOURS[p] for p in (PORE, NMC, CBD)])
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5], cmap.N)
    ax.imshow(image, cmap=cmap, norm=norm, origin="lower", extent=extent, interpolation="nearest")


def _xz_section(ax: Axes, electrode: Electrode) -> None:
    """Through-plane section at mid-y: z horizontal
    (current collector at z = 0, left), x vertical."""
    lx, _, lz = electrode.size_um
    j = electrode.shape[1] // 2
    _phase_image(ax, electrode.phases[:, j, :], (0.0, lz, 0.0, lx))
    for layer in electrode.layers[1:]:
        ax.axvline(layer.z0_um, color="white", linestyle="--", linewidth=0.8)
    if len(electrode.layers) > 1:
        for layer in electrode.layers:
            ax.text(
                0.5 * (layer.z0_um + layer.z1_um),
                1.02,
                layer.name,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
            )
    ax.text(
        0.0,
        1.02,
        "current collector",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontweight="bold",
    )
    ax.text(
        1.0, 1.02, "separator", transform=ax.transAxes, ha="right", va="bottom", fontweight="bold"
    )
    ax.set_xlabel("z, distance from current collector (µm)")
    ax.set_ylabel("x (µm)")
    ax.set_title(
        f"(a) xz section at y = {(j + 0.5) * electrode.voxel_um:.1f} µm", loc="left", pad=12
    )


def _xy_section(ax: Axes, electrode: Electrode) -> None:
    """In-plane section at mid-thickness: x horizontal, y vertical."""
    lx, ly, _ = electrode.size_um
    k = electrode.shape[2] // 2
    _phase_image(ax, electrode.phases[:, :, k].T, (0.0, lx, 0.0, ly))
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(f"(b) xy section at z = {(k + 0.5) * electrode.voxel_um:.1f} µm", loc="left")


def target_cdf(recipe: Recipe, d_um: np.ndarray) -> np.ndarray:
    """The recipe's volume-weighted cumulative size distribution at diameters ``d_um`` (um).

    A mixture of truncated log-normals, one per layer and population (sigma, volume median
    D50_v * size_scale, truncated to [d_min, d_max] * size_scale), weighted by the NMC volume
    each contributes: layer thickness fraction * layer NMC volume fraction * population mass
    fraction.
    """
    d_um = np.asarray(d_um, dtype=float)
    total = np.zeros_like(d_um)
    weights = 0.0
    for layer in recipe.layers:
        psd = layer.psd
        for pop in layer.populations:
            w = layer.thickness_fraction * layer.nmc_fraction * pop.mass_fraction
            log_normal = stats.norm(loc=np.log(psd.d50_um * pop.size_scale), scale=psd.sigma)
            lo, hi = (
                log_normal.cdf(np.log(b * pop.size_scale)) for b in (psd.d_min_um, psd.d_max_um)
            )
            cdf = (log_normal.cdf(np.log(d_um)) - lo) / (hi - lo)
            total += w * np.clip(cdf, 0.0, 1.0)
            weights += w
    return total / weights


def _size_distribution(ax: Axes, electrode: Electrode, recipe: Recipe | None) -> None:
    """Measured volume-weighted CDF of particle diameters, target CDF, and D10/D50/D90 of both."""
    d = np.sort(particle_diameters_um(electrode))
    ax.set_title("(c) particle size distribution (volume-weighted)", loc="left")
    ax.set_xlabel("volume-equivalent diameter (µm)")
    ax.set_ylabel("cumulative volume fraction")
    ax.set_ylim(0.0, 1.0)
    for q in QUANTILES:
        ax.axhline(q, color="0.75", linewidth=0.5, zorder=0)
    if d.size == 0:
        ax.text(0.5, 0.5, "no particles", transform=ax.transAxes, ha="center", va="center")
        return
    cum = np.cumsum(d**3) / np.sum(d**3)
    ax.step(
        d,
        cum,
        where="post",
        color=MEASURED_COLOUR,
        linewidth=1.2,
        label=f"measured ({d.size} particles)",
    )
    measured_q = volume_weighted_quantiles_um(d, QUANTILES)
    ax.plot(measured_q, QUANTILES, "o", color=MEASURED_COLOUR, markersize=4)
    lines = [
        f"{'':9}D10 / D50 / D90 (µm)",
        f"{'measured':9}" + " / ".join(f"{v:4.1f}" for v in measured_q),
    ]
    lo, hi = d[0], d[-1]
    if recipe is not None:
        d_min = min(
            layer.psd.d_min_um * p.size_scale for layer in recipe.layers for p in layer.populations
        )
        d_max = max(
            layer.psd.d_max_um * p.size_scale for layer in recipe.layers for p in layer.populations
        )
        grid = np.geomspace(d_min, d_max, 400)
        cdf = target_cdf(recipe, grid)
        ax.plot(grid, cdf, "--", color=TARGET_COLOUR, linewidth=1.0, label="recipe target")
        target_q = np.interp(QUANTILES, cdf, grid)
        ax.plot(
            target_q,
            QUANTILES,
            "s",
            markerfacecolor="none",
            markeredgecolor=TARGET_COLOUR,
            markersize=4.5,
        )
        lines.append(f"{'target':9}" + " / ".join(f"{v:4.1f}" for v in target_q))
        lo, hi = min(lo, d_min), max(hi, d_max)
    ax.set_xscale("log")
    ax.set_xlim(lo / 1.1, hi * 1.1)
    ax.xaxis.set_major_locator(FixedLocator(_TICKS_UM))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(loc="upper left", frameon=False)
    ax.text(
        0.03,
        0.80,
        "\n".join(lines),
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=7,
        family="monospace",
    )
