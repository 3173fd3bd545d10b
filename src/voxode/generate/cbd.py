"""Carbon-binder domain: fibres from particle surfaces, then binder in necks and crevices.

Works on one layer's slab of the phase image in place, to that layer's CBD phase fraction.
Laterally periodic like the particles (fibres wrap around the x and y faces).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from voxode.electrode import CBD, NMC, PORE
from voxode.recipe import CarbonBinder

_FIBRE_LENGTH_SPREAD = (0.5, 1.5)  # fibre lengths uniform in this range times the recipe length


def add_cbd(slab: np.ndarray, target_voxels: int, fibre_share: float, spec: CarbonBinder, voxel_um: float,
            rng: np.random.Generator) -> None:
    """Turn pore voxels of ``slab`` (phases, [x, y, z]) into CBD until it holds ``target_voxels`` CBD voxels.

    ``fibre_share`` of them are laid as fibres, the rest as binder.
    """
    fibre_target = int(round(fibre_share * target_voxels))
    lay_fibres(slab, fibre_target, spec.fibre_diameter_um / voxel_um, spec.fibre_length_um / voxel_um, rng)
    fill_binder(slab, target_voxels - int(np.count_nonzero(slab == CBD)), spec.binder_scale_um / voxel_um, rng)


def _ball_offsets(radius_vox: float) -> np.ndarray:
    r = max(radius_vox, 0.5)
    n = int(np.ceil(r))
    g = np.arange(-n, n + 1)
    o = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    return o[(o**2).sum(axis=1) <= r * r + 1e-9]


def lay_fibres(slab: np.ndarray, target_voxels: int, diameter_vox: float, length_vox: float,
               rng: np.random.Generator) -> None:
    """Add straight fibres that start on NMC surfaces, point away from them and stop at the next particle."""
    nmc = slab == NMC
    start_pool = np.argwhere((slab == PORE) & ndimage.binary_dilation(nmc))
    if target_voxels <= 0 or len(start_pool) == 0:
        return
    smooth = ndimage.gaussian_filter(nmc.astype(np.float32), 1.0, mode=("wrap", "wrap", "nearest"))
    outward = -np.stack(np.gradient(smooth), axis=-1)
    offsets = _ball_offsets(diameter_vox / 2.0)
    shape = np.array(slab.shape)
    step = 0.5
    n_steps = int(np.ceil(_FIBRE_LENGTH_SPREAD[1] * length_vox / step)) + 1
    per_fibre = max(1.0, np.pi * (diameter_vox / 2.0) ** 2 * length_vox)
    added = 0
    for _ in range(200):
        if added >= target_voxels:
            return
        batch = int((target_voxels - added) / per_fibre) + 8
        starts = start_pool[rng.integers(0, len(start_pool), batch)]
        dirs = rng.normal(size=(batch, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        normal = outward[starts[:, 0], starts[:, 1], starts[:, 2]]
        dirs[(dirs * normal).sum(axis=1) < 0] *= -1.0
        lengths = length_vox * rng.uniform(*_FIBRE_LENGTH_SPREAD, size=batch)
        t = np.arange(n_steps) * step
        pts = starts[:, None, :] + 0.5 + t[None, :, None] * dirs[:, None, :]
        idx = np.floor(pts).astype(np.int64)
        idx[..., 0] %= shape[0]
        idx[..., 1] %= shape[1]
        inside_z = (idx[..., 2] >= 0) & (idx[..., 2] < shape[2])
        zc = np.clip(idx[..., 2], 0, shape[2] - 1)
        blocked = (slab[idx[..., 0], idx[..., 1], zc] == NMC) | ~inside_z
        alive = (np.cumsum(blocked, axis=1) == 0) & (t[None, :] <= lengths[:, None])
        centres = idx[alive]
        if len(centres) == 0:
            continue
        vox = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 3)
        vox[:, 0] %= shape[0]
        vox[:, 1] %= shape[1]
        vox = vox[(vox[:, 2] >= 0) & (vox[:, 2] < shape[2])]
        vox = np.unique(vox, axis=0)
        free = slab[vox[:, 0], vox[:, 1], vox[:, 2]] == PORE
        vox = vox[free]
        if added + len(vox) > target_voxels:  # the last batch: keep a random part, not the low-x end
            vox = vox[rng.permutation(len(vox))[: target_voxels - added]]
        slab[vox[:, 0], vox[:, 1], vox[:, 2]] = CBD
        added += len(vox)


def fill_binder(slab: np.ndarray, n_voxels: int, scale_vox: float, rng: np.random.Generator) -> None:
    """Turn the ``n_voxels`` pore voxels most enclosed by solid (smoothed solid fraction) into CBD."""
    if n_voxels <= 0:
        return
    solid = (slab != PORE).astype(np.float32)
    score = ndimage.gaussian_filter(solid, scale_vox, mode=("wrap", "wrap", "nearest"))
    pores = np.nonzero(slab == PORE)
    n_voxels = min(n_voxels, len(pores[0]))
    s = score[pores] + rng.uniform(0.0, 1e-4, size=len(pores[0])).astype(np.float32)
    chosen = np.argpartition(-s, n_voxels - 1)[:n_voxels]
    slab[tuple(p[chosen] for p in pores)] = CBD
