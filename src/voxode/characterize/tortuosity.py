"""Tortuosity factor of a labelled image from one steady diffusion solve.

Method: cell-centred finite volumes on the voxels, two-point fluxes with harmonic-mean face
conductances, Dirichlet potentials 0 and 1 on the two planes normal to ``axis``, no flux on
the four other faces. Only voxels of the clusters that connect both planes enter the linear
system (it is then symmetric positive definite); they are solved by smoothed-aggregation AMG
(pyamg) accelerated by conjugate gradients.

Conventions (those of TauFactor 2's ``Solver``): the Dirichlet planes sit on the outer voxel
faces (``boundary="faces"``), the length is the number of voxels N along ``axis``, and
``tau = eps * D0 / D_eff`` uses the total porosity ``eps`` (mean liquid fraction of the whole
image, isolated pores included). ``tau_percolating`` uses the percolating porosity instead
(PoreSpy / OpenImpala). ``boundary="ghost"`` puts the Dirichlet values on the centres of a
ghost layer that copies each boundary layer, length N + 1 (TauFactor 2's ``MultiPhaseSolver``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pyamg
import scipy.sparse as sp

from voxode.characterize.transport import TransportFields, binary_fields
from voxode.connectivity import connected_to_planes

Boundary = Literal["faces", "ghost"]
AXIS_NAMES: tuple[str, str, str] = ("x", "y", "z")


@dataclass(frozen=True)
class TortuosityResult:
    """Outcome of one tortuosity solve (all quantities dimensionless).

    Attributes
    ----------
    tau : float
        Total porosity / (D_eff / D0) (TauFactor 2 convention); ``inf`` if nothing percolates.
    tau_percolating : float
        Percolating porosity / (D_eff / D0).
    porosity : float
        Mean liquid fraction of the image (total porosity).
    percolating_porosity : float
        Liquid fraction held by the clusters that connect both planes.
    percolating_fraction : float
        percolating_porosity / porosity (0 when nothing conducts).
    d_eff : float
        D_eff / D0 along ``axis``.
    axis : int
        Transport axis (0, 1, 2 = x, y, z).
    boundary : str
        ``faces`` or ``ghost`` (where the Dirichlet planes are).
    length_vox : int
        Distance between the Dirichlet planes in voxels (N, or N + 1 for "ghost").
    iterations : int
        Preconditioned CG iterations.
    flux_mismatch : float
        |F_in - F_out| / F (convergence).
    message : str
        Empty, or sentences about isolated or non-percolating electrolyte or a solver that
        stopped before reaching ``rtol``.
    """

    tau: float
    tau_percolating: float
    porosity: float
    percolating_porosity: float
    percolating_fraction: float
    d_eff: float
    axis: int
    boundary: str
    length_vox: int
    iterations: int
    flux_mismatch: float
    message: str

    @property
    def percolates(self) -> bool:
        return self.d_eff > 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict: infinite values become ``None``; ``D_eff`` aliases ``d_eff``.

        Returns
        -------
        dict
            The fields (dimensionless) and ``D_eff``.
        """
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        out["axis"] = AXIS_NAMES[self.axis]
        out["D_eff"] = out["d_eff"]
        out["percolates"] = self.percolates
        return out


def harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Face conductance between two voxels of relative diffusivities a and b (0 if either is 0)."""
    s = a + b
    return np.divide(2.0 * a * b, s, out=np.zeros_like(s), where=s > 0)


def boundary_factor(boundary: Boundary) -> tuple[float, int]:
    """(conductance multiplier of a boundary voxel, extra length in voxels) of a convention."""
    if boundary == "faces":
        return 2.0, 0
    if boundary == "ghost":
        return 1.0, 1
    raise ValueError(f"boundary must be 'faces' or 'ghost', got {boundary!r}")


def _as_fields(image: TransportFields | np.ndarray) -> TransportFields:
    return image if isinstance(image, TransportFields) else binary_fields(image)


def _message(porosity: float, fraction: float, axis: int) -> str:
    name = AXIS_NAMES[axis]
    if porosity == 0.0:
        return (
            f"nothing conducts: the image holds no conducting voxel; tau along {name} is infinite"
        )
    if fraction == 0.0:
        return (
            f"no conducting path connects the two planes normal to {name}: tau is infinite "
            f"(porosity {porosity:.4f}, percolating fraction 0)"
        )
    if fraction < 1.0:
        return (
            f"{100.0 * (1.0 - fraction):.2f} % of the electrolyte does not percolate along {name} "
            "(isolated or one-sided clusters: they count in the total porosity, carry no flux)"
        )
    return ""


def _assemble(
    d: np.ndarray, mask: np.ndarray, gb: float
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """SPD matrix, right-hand side and unknown numbering on ``mask`` (flux along the last axis)."""
    n = int(np.count_nonzero(mask))
    number = np.full(d.shape, -1, dtype=np.int64)
    number[mask] = np.arange(n)
    dm = np.where(mask, d, 0.0)
    diag = np.zeros(n)
    rows, cols, vals = [], [], []
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(None, -1)
        hi[ax] = slice(1, None)
        g = harmonic(dm[tuple(lo)], dm[tuple(hi)])
        on = g > 0
        i = number[tuple(lo)][on]
        j = number[tuple(hi)][on]
        gv = g[on]
        rows += [i, j]
        cols += [j, i]
        vals += [-gv, -gv]
        diag += np.bincount(i, gv, n) + np.bincount(j, gv, n)
    b = np.zeros(n)
    bottom, top = number[:, :, 0], number[:, :, -1]
    diag += np.bincount(bottom[bottom >= 0], gb * d[:, :, 0][bottom >= 0], n)
    top_g = gb * d[:, :, -1][top >= 0]
    diag += np.bincount(top[top >= 0], top_g, n)
    b[top[top >= 0]] = top_g
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    a = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return a, b, number


def _solve(
    d: np.ndarray, mask: np.ndarray, gb: float, rtol: float, maxiter: int
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Matrix, right-hand side, numbering, potential (0 at
    plane 0, 1 beyond the last plane) and CG residuals."""
    a, b, number = _assemble(d, mask, gb)
    z = (np.arange(d.shape[2]) + 0.5) / d.shape[2]
    x0 = np.broadcast_to(z, d.shape)[mask].astype(np.float64)
    residuals: list[float] = []
    # pyamg's spectral-radius estimate draws from numpy's legacy global generator: seed it (and
    # restore it after), so that the same image gives the same bits (generation decides on them)
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    try:
        ml = pyamg.smoothed_aggregation_solver(
            a, symmetry="hermitian", max_coarse=500, improve_candidates=None
        )
    finally:
        np.random.set_state(state)  # noqa: NPY002
    x = ml.solve(b, x0=x0, tol=rtol, accel="cg", maxiter=maxiter, residuals=residuals)
    return a, b, number, x, residuals


def flux_field(
    image: TransportFields | np.ndarray, axis: int = 2, rtol: float = 1e-4, maxiter: int = 200
) -> np.ndarray:
    """Magnitude of the steady flux through each voxel (half the sum of its faces' |flux|),
    potential 1 -> 0 along ``axis``; 0 outside the clusters that link both planes. Same units as the
    face conductances (D/D0 per voxel).

    Examples
    --------
    >>> m = np.zeros((3, 3, 4), bool); m[1, 1, :] = True
    >>> # a straight channel of length 4 carries 1/4 through every voxel
    >>> np.round(flux_field(m)[1, 1], 3)
    array([0.25, 0.25, 0.25, 0.25])
    """
    fields = _as_fields(image)
    gb, _ = boundary_factor("faces")
    d = np.ascontiguousarray(np.moveaxis(fields.diffusivity, axis, 2))
    mask = connected_to_planes(d > 0, axis=2)
    out = np.zeros(d.shape)
    if mask.any():
        _, _, number, x, _ = _solve(d, mask, gb, rtol, maxiter)
        phi = np.zeros(d.shape)
        phi[mask] = x[number[mask]]
        dm = np.where(mask, d, 0.0)
        for ax in range(3):
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[ax] = slice(None, -1)
            hi[ax] = slice(1, None)
            f = np.abs(harmonic(dm[tuple(lo)], dm[tuple(hi)]) * (phi[tuple(hi)] - phi[tuple(lo)]))
            out[tuple(lo)] += f
            out[tuple(hi)] += f
        out[:, :, 0] += gb * dm[:, :, 0] * phi[:, :, 0]
        out[:, :, -1] += gb * dm[:, :, -1] * (1.0 - phi[:, :, -1])
    return np.moveaxis(out / 2.0, 2, axis)


def tortuosity(
    image: TransportFields | np.ndarray,
    axis: int = 2,
    boundary: Boundary = "faces",
    rtol: float = 1e-7,
    maxiter: int = 400,
) -> TortuosityResult:
    """Tortuosity factor of ``image`` along ``axis`` (0, 1, 2 = x, y, z).

    ``image`` is a :class:`TransportFields` or a boolean array (True conducts, D/D0 = 1).
    ``rtol`` is the relative residual of the CG solve; D_eff comes from the dissipated energy,
    whose error is quadratic in the solver error (rtol 1e-6 gives tau to ~1e-9). A non-percolating
    image gives ``tau = inf`` and ``percolating_fraction = 0`` with an explanatory ``message``.

    Parameters
    ----------
    image : TransportFields or ndarray of bool
        The conducting image.
    axis : int
        Transport axis (0, 1, 2 = x, y, z).
    boundary : {'faces', 'ghost'}
        Dirichlet planes on the outer voxel faces (length N) or on ghost planes (N + 1).
    rtol : float
        Relative residual of the CG solve.
    maxiter : int
        CG iterations at most.

    Returns
    -------
    TortuosityResult
        tau (dimensionless; inf when nothing percolates), D_eff/D0, porosity and the
        percolating fraction.
    """
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    fields = _as_fields(image)
    gb, extra = boundary_factor(boundary)
    d = np.ascontiguousarray(np.moveaxis(fields.diffusivity, axis, 2))
    liquid = np.moveaxis(fields.liquid, axis, 2)
    length = d.shape[2] + extra
    porosity = float(liquid.mean())
    mask = connected_to_planes(d > 0, axis=2)
    perc = float(liquid[mask].sum() / liquid.size)
    fraction = perc / porosity if porosity > 0 else 0.0
    if not mask.any():
        return TortuosityResult(
            math.inf,
            math.inf,
            porosity,
            0.0,
            0.0,
            0.0,
            axis,
            boundary,
            length,
            0,
            0.0,
            _message(porosity, 0.0, axis),
        )
    a, b, number, x, residuals = _solve(d, mask, gb, rtol, maxiter)
    bottom = number[:, :, 0]
    f_out = float(np.sum(gb * d[:, :, 0][bottom >= 0] * x[bottom[bottom >= 0]]))
    f_in = float(np.sum(b) - b @ x)
    # dissipated energy of the discrete potential: equals the flux at the solution, and its
    # error is quadratic in the solver error (minimum principle), unlike f_in or f_out
    flux = float(np.sum(b) - 2.0 * (b @ x) + x @ (a @ x))
    d_eff = flux * length / (d.shape[0] * d.shape[1])
    message = _message(porosity, fraction, axis)
    reached = residuals[-1] / np.linalg.norm(b) if residuals else 0.0
    if reached > rtol:
        message = "; ".join(
            filter(
                None,
                [
                    message,
                    f"the solver stopped at relative residual {reached:.1e} "
                    f"(asked {rtol:.0e}) after {maxiter} iterations",
                ],
            )
        )
    return TortuosityResult(
        tau=porosity / d_eff,
        tau_percolating=perc / d_eff,
        porosity=porosity,
        percolating_porosity=perc,
        percolating_fraction=fraction,
        d_eff=d_eff,
        axis=axis,
        boundary=boundary,
        length_vox=length,
        iterations=max(len(residuals) - 1, 0),
        flux_mismatch=abs(f_in - f_out) / flux,
        message=message,
    )
