"""Place the carbon-binder domain without closing the last pore path from separator to collector.

Layers are placed from the separator down. Each brings a ranking of its pore voxels (the
order its CBD takes them) and a count; the head of the ranking becomes CBD. If that breaks
the macro-pore network (6-connected pore voxels from the top plane z = L down to the layer's
lowest plane), a bisection over the ranking finds the voxel that closes the last throat: it
stays pore, and its volume goes to the next voxel of the ranking (a crevice or dead end).
Pore percolation only falls as CBD is added, so each bisection starts where the last one
ended. The count stays exact, the result is deterministic, and a layer's CBD depends only on
the layers above it (so designs that share upper layers share their CBD too).
"""

from __future__ import annotations

import numpy as np

from voxode.connectivity import percolates
from voxode.electrode import CBD, PORE
from voxode.errors import PackingError

__all__ = ["place_cbd"]


def place_cbd(phases: np.ndarray, ranking: np.ndarray, count: int, k0: int, name: str) -> int:
    """Turn the first ``count`` voxels of ``ranking`` into CBD, in place, keeping the pores of
    planes ``k0:`` open.

    Parameters
    ----------
    phases : (nx, ny, nz) uint8 ndarray
        Phase image; the layers above plane ``k0`` hold their CBD already, this layer none.
    ranking : int ndarray
        Flat indices (into ``phases``) of the layer's pore voxels, in the order its CBD takes them.
    count : int
        How many voxels become CBD.
    k0 : int
        The layer's lowest plane: the pores must link plane ``k0`` to the top plane (z = L).
    name : str
        Layer name, for errors.

    Returns
    -------
    int
        Throat voxels left open (their CBD moved further down the ranking).

    Raises
    ------
    PackingError
        When the pores of planes ``k0:`` are closed before any CBD, or the layer runs out of
        pore voxels that keep them open (too little porosity for the CBD content).
    """
    if count > len(ranking):
        raise PackingError(
            f"layer '{name}': {count} CBD voxels do not fit in its {len(ranking)} pore voxels: "
            "raise porosity or lower the CBD content"
        )
    pore = phases == PORE

    def open_with(chosen: np.ndarray) -> bool:
        trial = pore.copy()
        trial.reshape(-1)[chosen] = False
        return percolates(trial[:, :, k0:])

    if not open_with(ranking[:0]):
        raise PackingError(
            f"layer '{name}': the particles close the pore space between separator and current "
            "collector before any CBD: raise porosity"
        )
    taken = ranking[:count]
    spare = iter(ranking[count:])
    released = 0
    good = 0  # taken[:good] leaves the pores open
    while not open_with(taken):
        lo, hi = good, len(taken)  # open with taken[:lo], closed with taken[:hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if open_with(taken[:mid]) else (lo, mid)
        replacement = next(spare, None)
        if replacement is None:
            raise PackingError(
                f"layer '{name}': its CBD cannot be placed without closing the pore space between "
                "separator and current collector: raise porosity or lower the CBD content"
            )
        taken = np.concatenate([taken[: hi - 1], taken[hi:], [replacement]])
        good = hi - 1
        released += 1
    phases.reshape(-1)[taken] = CBD
    return released
