"""Connectivity of the conducting phase layer by layer: a top-down sweep of 6-connected clusters.

A voxel *percolates* between two planes when a 6-connected path of conducting voxels links it
to both planes. Only percolating voxels carry a steady flux; isolated pores and clusters that
touch only one plane hold electrolyte but no current, and are excluded from the linear system.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _find(parent: np.ndarray, v: int) -> int:
    while parent[v] != v:
        parent[v] = parent[parent[v]]
        v = parent[v]
    return v


@numba.njit(cache=True)
def _union(
    parent: np.ndarray, size: np.ndarray, volume: np.ndarray, top: np.ndarray, a: int, b: int
) -> None:
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra == rb:
        return
    if size[ra] < size[rb]:
        ra, rb = rb, ra
    parent[rb] = ra
    size[ra] += size[rb]
    volume[ra] += volume[rb]
    top[ra] = top[ra] or top[rb]


@numba.njit(cache=True)
def _add_layer(
    j: int,
    conducting: np.ndarray,
    liquid: np.ndarray,
    parent: np.ndarray,
    size: np.ndarray,
    volume: np.ndarray,
    top: np.ndarray,
    stamp: np.ndarray,
    roots: np.ndarray,
) -> float:
    nx, ny, nz = conducting.shape
    for x in range(nx):
        for y in range(ny):
            if conducting[x, y, j]:
                v = (x * ny + y) * nz + j
                parent[v] = v
                size[v] = 1
                volume[v] = liquid[x, y, j]
                top[v] = j == nz - 1
    for x in range(nx):
        for y in range(ny):
            if not conducting[x, y, j]:
                continue
            v = (x * ny + y) * nz + j
            if x > 0 and conducting[x - 1, y, j]:
                _union(parent, size, volume, top, v, v - ny * nz)
            if y > 0 and conducting[x, y - 1, j]:
                _union(parent, size, volume, top, v, v - nz)
            if j < nz - 1 and conducting[x, y, j + 1]:
                _union(parent, size, volume, top, v, v + 1)
    spanning = 0.0
    k = 0
    for x in range(nx):
        for y in range(ny):
            if not conducting[x, y, j]:
                continue
            r = _find(parent, (x * ny + y) * nz + j)
            roots[k] = r
            k += 1
            if top[r] and stamp[r] != j:
                stamp[r] = j
                spanning += volume[r]
    return spanning


class LayerSweep:
    """Adds the z layers of an image from the last (top) one down, tracking 6-connected clusters.

    After ``add_layer(j)`` the clusters are those of the slab ``[j, nz)``; the call returns the
    liquid volume (voxel units) of the clusters that span the slab from layer j to the top
    layer, and the cluster id of every conducting voxel of layer j (C order over (x, y)).
    """

    def __init__(self, conducting: np.ndarray, liquid: np.ndarray) -> None:
        self._conducting = np.ascontiguousarray(conducting, dtype=np.bool_)
        self._liquid = np.ascontiguousarray(liquid, dtype=np.float64)
        n = self._conducting.size
        self._parent = np.full(n, -1, dtype=np.int64)
        self._size = np.zeros(n, dtype=np.int64)
        self._volume = np.zeros(n, dtype=np.float64)
        self._top = np.zeros(n, dtype=np.bool_)
        self._stamp = np.full(n, -1, dtype=np.int64)

    def add_layer(self, j: int) -> tuple[float, np.ndarray]:
        roots = np.empty(int(np.count_nonzero(self._conducting[:, :, j])), dtype=np.int64)
        spanning = _add_layer(
            j,
            self._conducting,
            self._liquid,
            self._parent,
            self._size,
            self._volume,
            self._top,
            self._stamp,
            roots,
        )
        return float(spanning), roots
