"""What `voxode info` reports about an electrode: phase fractions, loading, capacity, particle
sizes.

Loading and capacity count every layer at its own NMC density and specific capacity (recipe
values, or the import defaults for tomography); the specific capacity reported is their
mass-weighted mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxode.electrode import CBD, NMC, PORE, Electrode, border_particles


def volume_weighted_quantiles_um(
    diameters_um: np.ndarray, q: tuple[float, ...] = (0.1, 0.5, 0.9)
) -> np.ndarray:
    """Volume-weighted quantiles of equivalent diameters (D10, D50, D90 by default).

    Parameters
    ----------
    diameters_um : ndarray of float
        Equivalent diameters (um).
    q : tuple of float
        Quantiles, in [0, 1].

    Returns
    -------
    ndarray of float
        One diameter (um) per quantile (NaN without particles).
    """
    d = np.sort(np.asarray(diameters_um, dtype=float))
    if d.size == 0:
        return np.full(len(q), np.nan)
    w = d**3
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, d)


def particle_diameters_um(electrode: Electrode) -> np.ndarray:
    """Volume-equivalent diameters measured on the voxels, one per physical particle.

    Periodic images of one generated particle (same ``parent``) are summed, so particles cut
    by the lateral faces count whole; an imported image has no parents and counts each id.

    Parameters
    ----------
    electrode : Electrode
        A generated or imported electrode.

    Returns
    -------
    ndarray of float
        Volume-equivalent diameters (um), one per physical particle.
    """
    counts = np.bincount(electrode.particle_ids.ravel(), minlength=electrode.n_particles + 1)[1:]
    volumes = counts * electrode.voxel_um**3
    if "parent" in electrode.particles:
        parent = electrode.particles.sort_values("id")["parent"].to_numpy()
        volumes = np.bincount(parent, weights=volumes)
        volumes = volumes[volumes > 0]
    return (6.0 * volumes / np.pi) ** (1.0 / 3.0)


def electrode_summary(electrode: Electrode) -> dict[str, Any]:
    """A JSON-ready summary of an electrode (units in the keys).

    Parameters
    ----------
    electrode : Electrode
        The electrode.

    Returns
    -------
    dict
        Shape (voxels), size (um), phase fractions, porosities, loading (mg/cm^2), capacity
        (mAh/cm^2, mAh/g), particle counts and D10/D50/D90 (um), seed.
    """
    ph = electrode.phases
    n = ph.size
    cbd = np.count_nonzero(ph == CBD, axis=(0, 1)) / (ph.shape[0] * ph.shape[1])
    eps_n = electrode.cbd_nanoporosity_planes()
    loading = electrode.nmc_loading_mg_cm2
    capacity = electrode.nominal_capacity_mah_cm2
    d = particle_diameters_um(electrode)
    d10, d50, d90 = volume_weighted_quantiles_um(d)
    return {
        "shape_voxels": list(electrode.shape),
        "voxel_um": electrode.voxel_um,
        "size_um": [round(s, 6) for s in electrode.size_um],
        "layers": [layer.name for layer in electrode.layers],
        "fraction_pore": float(np.count_nonzero(ph == PORE) / n),
        "fraction_nmc": float(np.count_nonzero(ph == NMC) / n),
        "fraction_cbd": float(np.count_nonzero(ph == CBD) / n),
        "macro_porosity": float(np.count_nonzero(ph == PORE) / n),
        "total_porosity": float(np.count_nonzero(ph == PORE) / n + np.mean(cbd * eps_n)),
        "nmc_loading_mg_cm2": loading,
        "specific_capacity_mah_g": capacity / loading * 1e3
        if loading > 0
        else None,  # mass-weighted over layers
        "theoretical_capacity_mah_cm2": capacity,
        "particles": electrode.n_particles,
        "particles_away_from_lateral_borders": int(
            electrode.n_particles - len(border_particles(electrode.particle_ids))
        ),
        "d10_um": float(d10),
        "d50_um": float(d50),
        "d90_um": float(d90),
        "seed": electrode.provenance.get("seed"),
    }
