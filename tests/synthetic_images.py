"""Small synthetic electrodes with known geometry, for the characterization tests.

``sphere_packing`` places random overlapping spheres (each voxel belongs to the sphere whose
scaled distance ``|x - c| / r`` is smallest), then coats part of the particle surfaces with
CBD. It is a stand-in for the generator when a quick, self-contained test image is needed.
``one_sphere`` is a single particle in electrolyte, touching the current collector.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from voxode.electrode import CBD, NMC, PORE, Electrode, Layer


def one_sphere(n: int = 10, radius_vox: float = 4.5, voxel_um: float = 1.0) -> Electrode:
    """One sphere of radius ``radius_vox`` voxels in electrolyte, in a cube of ``n`` voxels a
    side, centred laterally and touching the current collector (z = 0)."""
    x, y, z = np.meshgrid(*[np.arange(n) + 0.5] * 3, indexing="ij")
    inside = (x - n / 2) ** 2 + (y - n / 2) ** 2 + (z - radius_vox) ** 2 < radius_vox**2
    return Electrode(
        phases=np.where(inside, NMC, PORE).astype(np.uint8),
        particle_ids=inside.astype(np.int32),
        voxel_um=voxel_um,
        particles=pd.DataFrame({"id": [1], "layer": 0, "population": "one"}),
        layers=[Layer("all", 0.0, n * voxel_um, cbd_nanoporosity=0.5)],
        provenance={},
    )


def sphere_packing(
    shape: tuple[int, int, int],
    voxel_um: float = 0.5,
    radius_vox: tuple[float, float] = (4.0, 9.0),
    nmc_fraction: float = 0.55,
    cbd_fraction: float = 0.08,
    seed: int = 0,
    cbd_nanoporosity: float = 0.5,
) -> Electrode:
    """Random sphere packing with CBD on the particle surfaces (fractions of the box volume)."""
    rng = np.random.default_rng(seed)
    ids = np.zeros(shape, dtype=np.int32)
    best = np.full(shape, np.inf)
    n = 0
    while np.count_nonzero(ids) < nmc_fraction * ids.size and n < 100000:
        n += 1
        r = rng.uniform(*radius_vox)
        c = rng.uniform(0.0, 1.0, 3) * np.array(shape)
        lo = np.maximum(np.floor(c - r).astype(int), 0)
        hi = np.minimum(np.ceil(c + r).astype(int) + 1, shape)
        sl = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        grid = np.meshgrid(
            *[np.arange(a, b) + 0.5 for a, b in zip(lo, hi, strict=True)], indexing="ij"
        )
        dist = np.sqrt(sum((g - ci) ** 2 for g, ci in zip(grid, c, strict=True))) / r
        win = (dist < 1.0) & (dist < best[sl])
        best[sl][win] = dist[win]
        ids[sl][win] = n
    ids = _relabel_largest_piece(ids)
    phases = np.where(ids > 0, NMC, PORE).astype(np.uint8)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
    near = ndimage.binary_dilation(ids > 0, iterations=2) & (ids == 0)
    if near.any() and cbd_fraction > 0:
        cut = np.quantile(noise[near], max(0.0, 1.0 - cbd_fraction * ids.size / near.sum()))
        phases[near & (noise >= cut)] = CBD
    present = np.unique(ids[ids > 0])
    particles = pd.DataFrame({"id": present, "layer": 0, "population": "synthetic"})
    thickness = shape[2] * voxel_um
    return Electrode(
        phases=phases,
        particle_ids=ids,
        voxel_um=voxel_um,
        particles=particles,
        layers=[Layer("all", 0.0, thickness, cbd_nanoporosity=cbd_nanoporosity)],
        provenance={"source": "tests.synthetic_images.sphere_packing", "seed": seed},
    )


def _relabel_largest_piece(ids: np.ndarray) -> np.ndarray:
    """Keep each particle's largest 6-connected piece (others become pore); ids renumbered 1..n."""
    out = np.zeros_like(ids)
    k = 0
    for pid, sl in enumerate(ndimage.find_objects(ids), start=1):
        if sl is None:
            continue
        own = ids[sl] == pid
        pieces, count = ndimage.label(own)
        if count > 1:
            sizes = np.bincount(pieces.ravel())[1:]
            own = pieces == (np.argmax(sizes) + 1)
        k += 1
        out[sl][own] = k
    return out
