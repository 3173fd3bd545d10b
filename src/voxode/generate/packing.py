"""Dense packing of spheres (the particles' equivalent spheres) with bounded overlap.

Laterally periodic box (x, y), hard planes in z given per particle as an allowed range of the
centre. Overlaps are relaxed by pairwise repulsion until every pair overlaps by at most
``max_overlap`` times the smaller radius. Obstacles (particles of layers packed earlier) stay
fixed. The particles start inflated (over-compressed: every particle pushes its neighbours,
so dense regions expand into sparse ones and the density evens out, as in force-biased
packing) and shrink to their true size during the first iterations.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from voxode.errors import PackingError


def relax(
    centres_um: np.ndarray,
    radii_um: np.ndarray,
    z_range_um: np.ndarray,
    box_xy_um: tuple[float, float],
    max_overlap: float,
    obstacles_um: np.ndarray | None = None,
    obstacle_radii_um: np.ndarray | None = None,
    inflation: float = 1.3,
    shrink_iterations: int = 300,
    max_iterations: int = 3000,
    tol: float = 0.02,
) -> np.ndarray:
    """Move particles until all pairwise overlaps are within bounds; return the new centres (n, 3).

    ``z_range_um`` (n, 2): allowed z interval of each centre. Overlap h_ij = r_i + r_j - dist_ij
    may reach ``max_overlap * min(r_i, r_j)``; the excess is removed by moving both particles
    apart, the smaller one more (weights r^3 of the other), obstacles not at all. It stops when
    no pair exceeds its bound by more than ``tol`` times the smaller radius.
    """
    lx, ly = box_xy_um
    n = len(radii_um)
    obstacles = np.zeros((0, 3)) if obstacles_um is None else np.asarray(obstacles_um, float)
    obstacle_radii = (
        np.zeros(0) if obstacle_radii_um is None else np.asarray(obstacle_radii_um, float)
    )
    pos = np.concatenate([np.asarray(centres_um, float), obstacles])
    rad_full = np.concatenate([radii_um, obstacle_radii])
    mobile = np.arange(len(pos)) < n
    z_lo = np.concatenate([z_range_um[:, 0], obstacles[:, 2]])
    z_hi = np.concatenate([z_range_um[:, 1], obstacles[:, 2]])
    z_span = float(max(z_hi.max(initial=0.0), 1.0)) * 3.0 + 4.0 * float(rad_full.max(initial=1.0))
    boxsize = np.array([lx, ly, z_span])
    r_max = float(rad_full.max(initial=0.0))
    for it in range(max_iterations):
        grow = max(1.0, inflation - (inflation - 1.0) * it / shrink_iterations)
        rad = rad_full * grow
        pos[:, 0] %= lx
        pos[:, 1] %= ly
        shifted = pos + np.array([0.0, 0.0, z_span / 3.0])
        tree = cKDTree(shifted, boxsize=boxsize)
        pairs = tree.query_pairs(2.0 * r_max * grow, output_type="ndarray")
        if len(pairs) == 0:
            if grow <= 1.0:
                return pos[:n]
            continue
        i, j = pairs[:, 0], pairs[:, 1]
        d = pos[j] - pos[i]
        d[:, 0] -= lx * np.round(d[:, 0] / lx)
        d[:, 1] -= ly * np.round(d[:, 1] / ly)
        dist = np.linalg.norm(d, axis=1)
        target = rad[i] + rad[j] - max_overlap * np.minimum(rad[i], rad[j])
        excess = target - dist
        hit = excess > 0
        if grow <= 1.0 and (
            not hit.any() or float((excess[hit] / np.minimum(rad[i], rad[j])[hit]).max()) < tol
        ):
            return pos[:n]
        i, j, d, dist, excess = i[hit], j[hit], d[hit], dist[hit], excess[hit]
        unit = d / np.maximum(dist, 1e-9)[:, None]
        wi = np.where(mobile[i], rad[j] ** 3, 0.0)
        wj = np.where(mobile[j], rad[i] ** 3, 0.0)
        wsum = np.maximum(wi + wj, 1e-300)
        step = 0.5 * excess[:, None] * unit
        move = np.zeros_like(pos)
        np.add.at(move, i, -step * (wi / wsum)[:, None])
        np.add.at(move, j, step * (wj / wsum)[:, None])
        pos += move
        pos[:, 2] = np.clip(pos[:, 2], z_lo, z_hi)
    raise PackingError(
        f"particles could not be packed with overlaps below packing.max_overlap = {max_overlap:g} "
        f"after {max_iterations} iterations: raise porosity or packing.max_overlap"
    )
