"""Carbon-binder domain as a *ranking* of pore voxels: which ones a layer's CBD takes first.

On the CBD grid (``Recipe.cbd_grid_um``, the same for every voxel size at or above the
packing grid), fibres are laid as straight tubes from NMC surfaces (lengths and diameters in
um), then binder takes the pore space most enclosed by solid. The ranking lists the fibre
voxels in the order they were laid, then the remaining pore voxels by enclosure. At a
coarser voxel size the ranking is by a score (:func:`score_ranking`): the fraction of each
voxel that the CBD-grid CBD covers, corrected so that transport is kept
(:mod:`voxode.generate.coarse_cbd`); one seed gives one CBD geometry, rasterised at each voxel size.
:func:`voxode.generate.pore_paths.place_cbd` turns the head of each ranking into CBD.
Laterally periodic like the particles (fibres wrap around the x and y faces).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from voxode.electrode import CBD, NMC, PORE
from voxode.recipe import CarbonBinder

_FIBRE_LENGTH_SPREAD = (0.5, 1.5)  # fibre lengths uniform in this range times the recipe length
_PERIODIC_XY = ("wrap", "wrap", "nearest")


def cbd_ranking(
    slab: np.ndarray,
    target_voxels: int,
    fibre_share: float,
    spec: CarbonBinder,
    grid_um: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Flat indices (C order) of the pore voxels of ``slab`` (phases, [x, y, z]) in the order the
    CBD takes them.

    ``fibre_share`` of ``target_voxels`` are laid as fibres first; ``grid_um`` is the slab's voxel
    size. ``slab`` is not changed.
    """
    work = slab.copy()
    fibres = lay_fibres(
        work,
        int(round(fibre_share * target_voxels)),
        spec.fibre_diameter_um / grid_um,
        spec.fibre_length_um / grid_um,
        rng,
    )
    return np.concatenate([fibres, binder_ranking(work, spec.binder_scale_um / grid_um, rng)])


def enclosure(slab: np.ndarray, scale_vox: float) -> np.ndarray:
    """Solid fraction (NMC or CBD) smoothed over ``scale_vox``
    voxels: high in particle necks and crevices."""
    solid = (slab != PORE).astype(np.float32)
    return ndimage.gaussian_filter(solid, scale_vox, mode=_PERIODIC_XY)


def binder_ranking(slab: np.ndarray, scale_vox: float, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of the pore voxels of ``slab``, most
    enclosed by solid first (random tie-break)."""
    pores = np.flatnonzero(slab == PORE)
    score = enclosure(slab, scale_vox).ravel()[pores] + rng.uniform(
        0.0, 1e-4, size=len(pores)
    ).astype(np.float32)
    return pores[np.argsort(-score, kind="stable")]


def score_ranking(slab: np.ndarray, score: np.ndarray, scale_vox: float) -> np.ndarray:
    """Flat indices of the pore voxels of ``slab``, highest
    ``score`` first, then most enclosed by solid."""
    pores = np.flatnonzero(slab == PORE)
    score = score.ravel()[pores] + 1e-3 * enclosure(slab, scale_vox).ravel()[pores]
    return pores[np.argsort(-score, kind="stable")]


def _ball_offsets(radius_vox: float) -> np.ndarray:
    r = max(radius_vox, 0.5)
    n = int(np.ceil(r))
    g = np.arange(-n, n + 1)
    o = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    return o[(o**2).sum(axis=1) <= r * r + 1e-9]


def lay_fibres(
    slab: np.ndarray,
    target_voxels: int,
    diameter_vox: float,
    length_vox: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Lay straight fibres that start on NMC surfaces, point away from them and stop at the next
    particle.

    Marks them CBD in ``slab`` and returns their flat indices in the order laid (``target_voxels``
    of them, fewer when the slab has no NMC surface).
    """
    nmc = slab == NMC
    start_pool = np.argwhere((slab == PORE) & ndimage.binary_dilation(nmc))
    laid: list[np.ndarray] = []
    if target_voxels <= 0 or len(start_pool) == 0:
        return np.zeros(0, np.int64)
    smooth = ndimage.gaussian_filter(nmc.astype(np.float32), 1.0, mode=_PERIODIC_XY)
    outward = -np.stack(np.gradient(smooth), axis=-1)
    offsets = _ball_offsets(diameter_vox / 2.0)
    shape = np.array(slab.shape)
    step = 0.5
    n_steps = int(np.ceil(_FIBRE_LENGTH_SPREAD[1] * length_vox / step)) + 1
    per_fibre = max(1.0, np.pi * (diameter_vox / 2.0) ** 2 * length_vox)
    added = 0
    for _ in range(200):
        if added >= target_voxels:
            break
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
        if (
            added + len(vox) > target_voxels
        ):  # the last batch: keep a random part, not the low-x end
            vox = vox[rng.permutation(len(vox))[: target_voxels - added]]
        slab[vox[:, 0], vox[:, 1], vox[:, 2]] = CBD
        laid.append(np.ravel_multi_index(vox.T, slab.shape))
        added += len(vox)
    return np.concatenate(laid) if laid else np.zeros(0, np.int64)
