"""Depth profile tau(z): tortuosity from the top plane (separator, z = L) down to every plane.

For every k the slab of voxel layers [k, N) is solved with Dirichlet potentials on its two
outer faces (z_k = k h and L) and no flux on the sides: the same problem as
:func:`voxode.characterize.tortuosity.tortuosity` on ``image[:, :, k:]``, for all N planes.

Method ("schur", exact): block Gaussian elimination of the finite-volume system layer by layer
from the top. After eliminating layers above k, the slab [k, N) reduces to a dense system on
the conducting voxels of layer k, ``T_k``, with right-hand side ``r_k``; its flux with the
bottom face at potential 0 is ``G_k = d_k . (T_k + diag d_k)^-1 r_k``. Going down one layer,
``T_{k-1} = P_{k-1} + diag(u) - diag(u) (T_k + diag(u))^-1 diag(u)`` (P the in-plane operator,
u the vertical face conductances). Cost per plane ~ n^3 for n conducting voxels per plane:
linear in the thickness instead of quadratic for independent slab solves, and exact up to
round-off (the tests compare it with independent slab solves at 1e-9). Clusters that do not
connect to the layer below are decoupled exactly (tracked by a union-find sweep), so isolated
pores never make the elimination singular. ``"slabs"`` runs the independent AMG solves (any
cross-section size); ``"auto"`` picks "schur" up to 6000 conducting voxels per plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import track
from scipy.linalg import blas, lapack

from voxode.characterize.percolation import LayerSweep
from voxode.characterize.tortuosity import harmonic, tortuosity
from voxode.characterize.transport import TransportFields, binary_fields

Method = Literal["auto", "schur", "slabs"]
SCHUR_MAX_PLANE_VOXELS = 6000
_STDERR = Console(stderr=True)


@dataclass(frozen=True)
class DepthProfile:
    """tau from the top plane down to each plane k (arrays of length N, index k).

    Attributes
    ----------
    z_um : ndarray
        Position of the slab's lower Dirichlet plane, the voxel face k h (um from z = 0).
    tau, tau_percolating : ndarray
        Slab tortuosity with total / percolating porosity (inf: no path; dimensionless).
    d_eff : ndarray
        D_eff / D0 of the slab.
    porosity, percolating_fraction : ndarray
        Of the slab (dimensionless).
    plane_porosity : ndarray
        Liquid fraction of voxel layer k alone (centred at (k + 1/2) h).
    voxel_um : float
        Voxel size h (um).
    axis : int
        Transport axis (0, 1, 2 = x, y, z).
    """

    z_um: np.ndarray
    tau: np.ndarray
    tau_percolating: np.ndarray
    d_eff: np.ndarray
    porosity: np.ndarray
    percolating_fraction: np.ndarray
    plane_porosity: np.ndarray
    voxel_um: float
    axis: int

    def tau_at(self, z_um: np.ndarray | float, percolating: bool = False) -> np.ndarray:
        """tau from the top plane down to depth(s) ``z_um`` (um), linear in 1/tau between faces.

        Interpolating the conductance-like 1/tau keeps ``inf`` (no path) exact; depths beyond
        the last face are clamped.

        Parameters
        ----------
        z_um : float or ndarray
            Depth(s), as positions from z = 0 (um).
        percolating : bool
            With the percolating porosity instead of the total.

        Returns
        -------
        ndarray
            tau (dimensionless; inf: no path).
        """
        values = self.tau_percolating if percolating else self.tau
        inverse = np.where(np.isfinite(values), 1.0 / values, 0.0)
        value = np.atleast_1d(np.interp(np.asarray(z_um, dtype=float), self.z_um, inverse))
        return np.divide(1.0, value, out=np.full(value.shape, np.inf), where=value > 0)

    def to_frame(self) -> pd.DataFrame:
        """The profile as a table, one row per plane.

        Returns
        -------
        pandas.DataFrame
            ``z_um`` (um), tau, tau_percolating, d_eff, slab_porosity, percolating_fraction and
            plane_porosity (dimensionless), one row per plane.
        """
        return pd.DataFrame(
            {
                "z_um": self.z_um,
                "tau": self.tau,
                "tau_percolating": self.tau_percolating,
                "d_eff": self.d_eff,
                "slab_porosity": self.porosity,
                "percolating_fraction": self.percolating_fraction,
                "plane_porosity": self.plane_porosity,
            }
        )


def _plane_operator(d: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Dense in-plane finite-volume operator of one layer (d: 2D relative diffusivities)."""
    ny = d.shape[1]
    out = np.zeros((n, n))
    diag = np.zeros(n)
    for g, step in ((harmonic(d[:-1, :], d[1:, :]), ny), (harmonic(d[:, :-1], d[:, 1:]), 1)):
        xs, ys = np.nonzero(g > 0)
        a = xs * ny + ys
        ia, ib = pos[a], pos[a + step]
        gv = g[xs, ys]
        out[ia, ib] = -gv
        out[ib, ia] = -gv
        diag += np.bincount(ia, gv, n) + np.bincount(ib, gv, n)
    out[np.diag_indices(n)] = diag
    return out


# Dense matrices below are C-ordered with only their LOWER triangle guaranteed valid; their
# transpose is the Fortran-ordered view LAPACK reads, as its UPPER triangle (lower=0).
def _factor(a: np.ndarray) -> np.ndarray:
    c, info = lapack.dpotrf(a.T, lower=0, overwrite_a=1, clean=0)
    if info != 0:
        raise ArithmeticError(
            f"depth profile: matrix lost positive definiteness (LAPACK info {info})"
        )
    return c


def _inverse_lower(a: np.ndarray) -> np.ndarray:
    """Inverse of an SPD matrix (lower triangle used, overwritten); lower triangle valid."""
    z, info = lapack.dpotri(_factor(a), lower=0, overwrite_c=1)
    if info != 0:
        raise ArithmeticError(f"depth profile: inversion failed (LAPACK info {info})")
    return z.T


@numba.njit(cache=True)
def _schur_update(
    t_next: np.ndarray, rows: np.ndarray, z: np.ndarray, at: np.ndarray, u: np.ndarray
) -> None:
    """t_next[rows_i, rows_j] -= u_i z[at_i, at_j] u_j on the lower triangle (rows, at sorted)."""
    for i in range(at.size):
        ai = at[i]
        ri = rows[i]
        ui = u[i]
        for j in range(i + 1):
            t_next[ri, rows[j]] -= ui * z[ai, at[j]] * u[j]


def _schur_fluxes(
    d: np.ndarray, liquid: np.ndarray, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Flux G_k (voxel units, unit potential drop) and spanning liquid volume of every slab."""
    nx, ny, nz = d.shape
    flux = np.zeros(nz)
    spanning = np.zeros(nz)
    sweep = LayerSweep(d > 0, liquid)

    def layer(j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat = d[:, :, j].ravel()
        idx = np.flatnonzero(flat > 0)
        pos = np.full(nx * ny, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        return idx, pos, flat

    idx, pos, flat = layer(nz - 1)
    t = _plane_operator(d[:, :, nz - 1], pos, idx.size)
    r = 2.0 * flat[idx]
    t[np.diag_indices(idx.size)] += r
    steps = range(nz - 1, -1, -1)
    for j in track(steps, description="depth profile", console=_STDERR) if progress else steps:
        spanning[j], roots = sweep.add_layer(j)
        d_b = 2.0 * flat[idx]
        if idx.size and spanning[j] > 0:
            m = t.copy()
            m[np.diag_indices(idx.size)] += d_b
            x = lapack.dpotrs(_factor(m), r, lower=0)[0]
            flux[j] = float(d_b @ x)
        if j == 0:
            break
        idx_lo, pos_lo, flat_lo = layer(j - 1)
        u_plane = harmonic(flat_lo, flat)
        t_next = _plane_operator(d[:, :, j - 1], pos_lo, idx_lo.size)
        t_next[np.diag_indices(idx_lo.size)] += u_plane[idx_lo]
        r_next = np.zeros(idx_lo.size)
        uu = u_plane[idx]
        coupled = np.flatnonzero(uu > 0)
        if coupled.size:
            # clusters of layer j with no voxel coupled downwards are decoupled blocks of t
            # (exact zeros): a unit shift makes them regular without touching the others
            shift = np.where(np.isin(roots, roots[coupled]), uu, 1.0)
            t[np.diag_indices(idx.size)] += shift
            z = _inverse_lower(t)
            rows = pos_lo[idx[coupled]]
            _schur_update(t_next, rows, z, coupled, uu[coupled])
            zr = blas.dsymv(1.0, z.T, r, lower=0)
            r_next[rows] = uu[coupled] * zr[coupled]
        idx, pos, flat, t, r = idx_lo, pos_lo, flat_lo, t_next, r_next
    return flux, spanning


def depth_profile(
    image: TransportFields | np.ndarray,
    voxel_um: float = 1.0,
    axis: int = 2,
    method: Method = "auto",
    progress: bool = False,
) -> DepthProfile:
    """tau(z) from the high end of ``axis`` (separator side) down to every plane, in one call.

    Conventions as :func:`~voxode.characterize.tortuosity.tortuosity` (faces, length = slab
    thickness in voxels, total porosity of the slab). ``voxel_um`` only scales ``z_um``.

    Parameters
    ----------
    image : TransportFields or ndarray of bool
        The conducting image (True conducts with D/D0 = 1).
    voxel_um : float
        Voxel size (um), for the positions.
    axis : int
        Transport axis (0, 1, 2 = x, y, z).
    method : {'auto', 'schur', 'slabs'}
        Exact layer-by-layer elimination, independent slab solves, or the one that suits the
        image (see the module docstring).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    DepthProfile
        Per plane: position (um from the low end), tau and porosity of the slab above it.
    """
    fields = image if isinstance(image, TransportFields) else binary_fields(image)
    d = np.ascontiguousarray(np.moveaxis(fields.diffusivity, axis, 2))
    liquid = np.ascontiguousarray(np.moveaxis(fields.liquid, axis, 2))
    nx, ny, nz = d.shape
    plane_liquid = liquid.sum(axis=(0, 1))
    slab_liquid = np.cumsum(plane_liquid[::-1])[::-1]
    thickness = nz - np.arange(nz)
    porosity = slab_liquid / (nx * ny * thickness)
    if method == "auto":
        method = (
            "schur"
            if np.count_nonzero(d > 0, axis=(0, 1)).max(initial=0) <= SCHUR_MAX_PLANE_VOXELS
            else "slabs"
        )
    if method == "schur":
        flux, spanning = _schur_fluxes(d, liquid, progress)
        d_eff = flux * thickness / (nx * ny)
        spanning_porosity = spanning / (nx * ny * thickness)
    elif method == "slabs":
        d_eff = np.zeros(nz)
        spanning_porosity = np.zeros(nz)
        steps = range(nz)
        for k in (
            track(steps, description="depth profile (slabs)", console=_STDERR)
            if progress
            else steps
        ):
            res = tortuosity(TransportFields(d[:, :, k:], liquid[:, :, k:]), axis=2)
            d_eff[k], spanning_porosity[k] = res.d_eff, res.percolating_porosity
    else:
        raise ValueError(f"method must be 'auto', 'schur' or 'slabs', got {method!r}")
    ok = (d_eff > 0) & (spanning_porosity > 0)
    safe = np.where(ok, d_eff, 1.0)
    tau = np.where(ok, porosity / safe, math.inf)
    tau_perc = np.where(ok, spanning_porosity / safe, math.inf)
    fraction = np.divide(spanning_porosity, porosity, out=np.zeros(nz), where=porosity > 0)
    return DepthProfile(
        z_um=np.arange(nz) * float(voxel_um),
        tau=tau,
        tau_percolating=tau_perc,
        d_eff=np.where(ok, d_eff, 0.0),
        porosity=porosity,
        percolating_fraction=fraction,
        plane_porosity=plane_liquid / (nx * ny),
        voxel_um=float(voxel_um),
        axis=axis,
    )
