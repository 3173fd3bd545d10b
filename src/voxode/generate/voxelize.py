"""Rasterise analytic particles onto a voxel grid.

The box is laterally periodic: a particle crossing a lateral face also appears, shifted by the
box size, at the opposite face; each such periodic image is a separate *instance* in the image
(a window into a larger electrode). Where particles overlap, a voxel goes to the particle in
whose shape it lies deepest (smallest normalised radius s = |p - c| / r(u)), so overlaps are
split between the two. Pieces disconnected by that rule are handed to the neighbour they touch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from voxode.generate.shapes import relative_radius


@dataclass
class ParticleArrays:
    """Analytic particles (all lengths in um)."""

    centre: np.ndarray  # (n, 3)
    r0: np.ndarray  # (n,) radial scale
    bound: np.ndarray  # (n,) bounding radius
    axis: np.ndarray  # (n, 3) spheroid axis
    aspect: np.ndarray  # (n,)
    coeffs: np.ndarray  # (n, 12) harmonic coefficients
    clip_z_max: np.ndarray  # (n,) voxels with centre above this plane are not part of the particle

    def __len__(self) -> int:
        return len(self.r0)

    def subset(self, idx: np.ndarray) -> ParticleArrays:
        return ParticleArrays(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[ParticleArrays]) -> ParticleArrays:
        fields = ParticleArrays.__dataclass_fields__
        return ParticleArrays(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass
class Rasterised:
    """Instance labels (0 = none, k = instance k - 1) with
    the particle and shift of each instance."""

    labels: np.ndarray  # int32 (nx, ny, nz_window)
    particle: np.ndarray  # (m,) index into the ParticleArrays
    shift_um: np.ndarray  # (m, 2) lateral shift of the instance (periodic image), um
    own_voxels: (
        np.ndarray
    )  # (m,) voxels inside the instance's shape (inside the window), won or not


def rasterise(
    p: ParticleArrays,
    voxel_um: float,
    shape: tuple[int, int, int],
    z_window: tuple[int, int] | None = None,
    periodic: bool = True,
) -> Rasterised:
    """Rasterise particles on a grid of ``shape`` voxels (box = shape * voxel_um).

    ``periodic``: also draw the lateral periodic images of every particle (each a new instance);
    without it, each particle is drawn once where it is (e.g. instances already shifted).
    ``z_window`` = (k0, k1): only planes k0..k1-1 are rasterised (labels has k1 - k0 planes).
    """
    nx, ny, nz = shape
    k0, k1 = z_window if z_window is not None else (0, nz)
    lx, ly = nx * voxel_um, ny * voxel_um
    labels = np.zeros((nx, ny, k1 - k0), dtype=np.int32)
    best = np.ones(labels.shape, dtype=np.float32)
    inst_particle: list[int] = []
    inst_shift: list[tuple[float, float]] = []
    own: list[int] = []
    shifts_x = (-lx, 0.0, lx) if periodic else (0.0,)
    shifts_y = (-ly, 0.0, ly) if periodic else (0.0,)
    for i in range(len(p)):
        c, b = p.centre[i], p.bound[i]
        z_lo = max(int(np.floor((c[2] - b) / voxel_um)), k0)
        z_hi = min(int(np.ceil((c[2] + b) / voxel_um)) + 1, k1)
        if z_lo >= z_hi:
            continue
        for sx in shifts_x:
            for sy in shifts_y:
                cx, cy = c[0] + sx, c[1] + sy
                x_lo, x_hi = (
                    max(int(np.floor((cx - b) / voxel_um)), 0),
                    min(int(np.ceil((cx + b) / voxel_um)) + 1, nx),
                )
                y_lo, y_hi = (
                    max(int(np.floor((cy - b) / voxel_um)), 0),
                    min(int(np.ceil((cy + b) / voxel_um)) + 1, ny),
                )
                if x_lo >= x_hi or y_lo >= y_hi:
                    continue
                s = _normalised_radius(
                    p,
                    i,
                    np.array([cx, cy, c[2]]),
                    voxel_um,
                    (x_lo, x_hi),
                    (y_lo, y_hi),
                    (z_lo, z_hi),
                )
                inside = s < 1.0
                n_in = int(inside.sum())
                if n_in == 0:
                    continue
                sl = (slice(x_lo, x_hi), slice(y_lo, y_hi), slice(z_lo - k0, z_hi - k0))
                win = s < best[sl]
                best[sl][win] = s[win]
                labels[sl][win] = len(inst_particle) + 1
                inst_particle.append(i)
                inst_shift.append((sx, sy))
                own.append(n_in)
    return Rasterised(
        labels,
        np.asarray(inst_particle, dtype=np.int64),
        np.asarray(inst_shift, float).reshape(-1, 2),
        np.asarray(own, dtype=np.int64),
    )


def _normalised_radius(
    p: ParticleArrays,
    i: int,
    centre: np.ndarray,
    voxel_um: float,
    xr: tuple[int, int],
    yr: tuple[int, int],
    zr: tuple[int, int],
) -> np.ndarray:
    """s = |x - c| / r(u) at the voxel centres of a
    sub-box (inf above the particle's clip plane)."""
    gx = (np.arange(*xr) + 0.5) * voxel_um - centre[0]
    gy = (np.arange(*yr) + 0.5) * voxel_um - centre[1]
    zc = (np.arange(*zr) + 0.5) * voxel_um
    gz = zc - centre[2]
    d = np.stack(np.meshgrid(gx, gy, gz, indexing="ij"), axis=-1).reshape(-1, 3)
    rho = np.linalg.norm(d, axis=1)
    u = d / np.maximum(rho, 1e-12)[:, None]
    radius = p.r0[i] * relative_radius(u, p.axis[i], p.aspect[i], p.coeffs[i])
    s = (rho / radius).astype(np.float32).reshape(len(gx), len(gy), len(gz))
    s[:, :, zc > p.clip_z_max[i]] = np.inf
    return s


def repair_connectivity(labels: np.ndarray) -> int:
    """Make every label one 6-connected piece, in place; return the number of voxels moved.

    Fragments other than a label's largest piece go to the neighbouring label they share most
    faces with, or to 0 when they touch no other label.
    """
    moved = 0
    for _ in range(4):  # a fragment handed over can, rarely, itself split a neighbour; repeat
        changed = 0
        for lab, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            sl = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in sl)
            crop = labels[sl]
            mask = crop == lab
            pieces, n = ndimage.label(mask)
            if n <= 1:
                continue
            sizes = np.bincount(pieces.ravel())[1:]
            keep = int(np.argmax(sizes)) + 1
            for k in range(1, n + 1):
                if k == keep:
                    continue
                frag = pieces == k
                shell = ndimage.binary_dilation(frag) & ~frag
                neighbours = crop[shell]
                neighbours = neighbours[(neighbours != 0) & (neighbours != lab)]
                crop[frag] = np.bincount(neighbours).argmax() if neighbours.size else 0
                changed += int(frag.sum())
        moved += changed
        if changed == 0:
            break
    return moved


def _overlap_weights(n_fine: int, fine_um: float, n_coarse: int, coarse_um: float) -> np.ndarray:
    """(n_coarse, n_fine): length of each fine cell inside
    each coarse cell, over the coarse cell's length."""
    fine = np.arange(n_fine + 1) * fine_um
    coarse = np.arange(n_coarse + 1) * coarse_um
    lo = np.maximum(coarse[:-1, None], fine[None, :-1])
    hi = np.minimum(coarse[1:, None], fine[None, 1:])
    return np.clip(hi - lo, 0.0, None) / coarse_um


def coverage_fraction(
    mask: np.ndarray, mask_voxel_um: float, shape: tuple[int, int, int], voxel_um: float
) -> np.ndarray:
    """Fraction of each voxel of a ``shape`` grid (edge ``voxel_um``) covered by ``mask`` (edge
    ``mask_voxel_um``).

    Both grids start at the origin; the result is float32 ``shape``, in [0, 1].
    """
    wx, wy, wz = (
        _overlap_weights(n_f, mask_voxel_um, n_c, voxel_um)
        for n_f, n_c in zip(mask.shape, shape, strict=True)
    )
    return np.einsum(
        "ai,bj,ck,ijk->abc", wx, wy, wz, mask.astype(np.float64), optimize=True
    ).astype(np.float32)
