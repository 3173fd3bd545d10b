"""Which voxels of a mask are 6-connected to given end planes: the one percolation test of voxode.

Generation (does the pore space link the separator to the current collector?), the
tortuosity solver (which clusters carry flux?) and the electrochemical grid (which voxels
hold unknowns?) all ask this one question.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["SIX", "connected_to_planes", "percolates"]

SIX = ndimage.generate_binary_structure(3, 1)  # face neighbours only


def connected_to_planes(
    mask: np.ndarray, axis: int = 2, planes: Sequence[int] = (0, -1)
) -> np.ndarray:
    """Voxels of ``mask`` 6-connected to every plane of ``planes`` normal to ``axis``.

    Parameters
    ----------
    mask : (nx, ny, nz) bool ndarray
        The connecting voxels.
    axis : int
        Axis the planes are normal to (2 = z, through-plane).
    planes : sequence of int
        Plane indices along ``axis`` (0 the first, -1 the last); a voxel is kept when its
        cluster touches all of them.

    Returns
    -------
    (nx, ny, nz) bool ndarray

    Examples
    --------
    >>> m = np.zeros((2, 2, 3), bool); m[0, 0, :] = True; m[1, 1, 0] = True
    >>> int(connected_to_planes(m).sum()), int(connected_to_planes(m, planes=(0,)).sum())
    (3, 4)
    """
    labels, n = ndimage.label(mask, structure=SIX)
    keep = np.ones(n + 1, dtype=bool)
    keep[0] = False
    for plane in planes:
        touching = np.zeros(n + 1, dtype=bool)
        touching[np.take(labels, plane, axis=axis)] = True
        keep &= touching
    return keep[labels]


def percolates(mask: np.ndarray, axis: int = 2) -> bool:
    """True when ``mask`` links the first and last planes normal to ``axis`` (6-connected).

    Examples
    --------
    >>> m = np.zeros((2, 2, 3), bool); m[0, 0, :] = True
    >>> percolates(m)
    True
    >>> m[0, 0, 1] = False
    >>> percolates(m)
    False
    """
    return bool(connected_to_planes(mask, axis).any())
