"""Linear solves of the Newton systems: sparse LU for small grids, AMG-preconditioned Krylov
solvers for large ones.

Three backends (``kind``): "direct" (SuperLU), "petsc" (GMRES with a PETSc field-split
preconditioner and hypre BoomerAMG, :mod:`voxode.electrochem.petsc_linear`, used when
petsc4py is installed) and "pyamg" (scipy's GMRES with the block preconditioner below, the
fallback). "auto" takes the direct solver up to ``DIRECT_LIMIT`` unknowns, then PETSc where it
imports, else pyamg. A run started by ``mpiexec -n N`` (N > 1) solves with PETSc, distributed
over the N processes (``petsc_linear.DistributedFieldSplitSolver``); the other backends would
only repeat the same solve on every process, so they are refused there.

The pyamg backend preconditions the Jacobian J with one block Gauss-Seidel sweep over
(potentials | c_s | c_e):

1. potentials (phi_s, phi_e, V): their block is an SPD graph Laplacian (electronic and ionic
   conductances, linearised Butler-Volmer conductances between the phases, the collector
   and the foil) once the voltage row is negated; one Ruge-Stueben AMG V-cycle.
2. c_s given the potential update: storage + particle diffusion, one symmetric Gauss-Seidel
   sweep (storage makes the block strictly diagonally dominant; an SA V-cycle needed the same
   Krylov iterations at a higher cost).
3. c_e given both: storage + salt diffusion, one Ruge-Stueben V-cycle on the block itself.
   Not on its symmetric part: with steep concentration gradients and a concentration-
   dependent diffusivity the block is far from symmetric, and the symmetrised hierarchy
   cost 60 % more Krylov iterations (measured on a mid-discharge Jacobian).

Both Ruge-Stueben hierarchies use the second pass of the C/F splitting, which makes every
pair of strongly connected F-points share a C-point. Without it, interpolation across the
thin carbon-binder fibres and the 7600x conductivity contrast between NMC and carbon-binder
is poor: CG with one V-cycle needed 26 iterations on the potential block instead of 10, and
the full solve near the cut-off 98 GMRES iterations instead of 29 (benchmarks/README.md).
Smoothing is one forward Gauss-Seidel sweep before and one backward sweep after the coarse
correction: half the work of pyamg's default symmetric sweeps, and at the GMRES tolerance used
the same iterations (25 vs 24 on a mid-discharge Jacobian).

GMRES stops at ``rtol`` of the Newton residual (``DEFAULT_RTOL``, 1e-3): Newton still converges
to its own tolerance, in the same number of iterations as with 1e-7 (376 vs 368 on
paper-pristine at 1.5 um, capacity equal to 1e-9), with 28 % fewer Krylov iterations.

The AMG hierarchies are reused across Newton iterations and time steps until a solve needs
more than ``rebuild_after`` Krylov iterations (a setup costs about 13 iterations). On
paper-pristine at 1.5 um, rebuilding after 25 iterations took 102 s of CPU, after 40: 122 s,
and rebuilding at every time step: 132 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pyamg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import gauss_seidel

from voxode.electrochem.grid import Grid
from voxode.electrochem.model import Layout
from voxode.errors import LinearSolverError
from voxode.ranks import world_size

DIRECT_LIMIT = 8_000
LINEAR_SOLVERS = ("auto", "direct", "petsc", "pyamg")
# Krylov tolerance of each backend in its own norm (inexact Newton). scipy's GMRES tests the
# true residual; PETSc's left-preconditioned GMRES the preconditioned one, whose 1e-3 left a
# true residual of 1e-2..4e-2 and cost Newton failures (benchmarks/README.md, "Speed II").
DEFAULT_RTOL = {"petsc": 1e-4, "pyamg": 1e-3}
_RS_OPTIONS = dict(
    CF=("RS", {"second_pass": True}),
    max_coarse=400,
    presmoother=("gauss_seidel", {"sweep": "forward"}),
    postsmoother=("gauss_seidel", {"sweep": "backward"}),
)


@cache
def petsc_available() -> bool:
    """Whether petsc4py imports (the PETSc backend can run).

    Returns
    -------
    bool
        True when the ``petsc`` linear solver can be chosen.
    """
    try:
        import petsc4py  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_kind(kind: str, size: int, ranks: int = 1) -> str:
    """The backend that ``kind`` selects for a system of ``size`` unknowns solved by ``ranks``
    MPI processes (only PETSc distributes a solve)."""
    if kind not in LINEAR_SOLVERS:
        raise LinearSolverError(
            f"linear solver must be one of {', '.join(LINEAR_SOLVERS)}, got {kind!r}"
        )
    if ranks > 1 and kind not in ("auto", "petsc"):
        raise LinearSolverError(
            f"a discharge on {ranks} MPI ranks needs the petsc linear solver, not {kind}"
        )
    if ranks > 1 and kind == "auto":
        kind = "petsc"
    if kind == "auto":
        if size <= DIRECT_LIMIT:
            return "direct"
        return "petsc" if petsc_available() else "pyamg"
    if kind == "petsc" and not petsc_available():
        raise LinearSolverError(
            "the PETSc linear solver needs petsc4py, which is not installed "
            "(see README, 'PETSc'); use --linear-solver pyamg"
        )
    return kind


def liquid_x(grid: Grid) -> np.ndarray:
    """The x index (voxels) of each liquid cell: the electrode's from its voxel, the
    separator's from its place in its layer (the grid numbers a layer's cells x-major).

    Parameters
    ----------
    grid : Grid
        The discharge's grid.

    Returns
    -------
    ndarray of int
        One x index per liquid cell, in the grid's order (phi_e and c_e share it).
    """
    nx, ny, nz = grid.shape
    n_electrode = grid.liquid_voxel.size
    separator = np.arange(grid.n_liquid - n_electrode) % (nx * ny) // ny
    return np.r_[grid.liquid_voxel // (ny * nz), separator]


@dataclass
class LinearStats:
    solves: int = 0
    iterations: int = 0
    setups: int = 0


@dataclass
class LinearSolver:
    """Solves J du = b for the Newton update with the backend ``kind`` selects (see module doc).

    ``rtol`` is the Krylov tolerance relative to the right-hand side (None: the backend's
    ``DEFAULT_RTOL``); the preconditioner is rebuilt after a solve that needed more than
    ``rebuild_after`` iterations. ``liquid_x`` (:func:`liquid_x`) lets a solve distributed over
    MPI ranks cut the liquid, separator included, into the same x slabs as the solid."""

    layout: Layout
    kind: str = "auto"
    rtol: float | None = None
    maxiter: int = 200
    rebuild_after: int = 25
    liquid_x: np.ndarray | None = None
    stats: LinearStats = field(default_factory=LinearStats)

    def __post_init__(self) -> None:
        ranks = world_size()
        self.kind = resolve_kind(self.kind, self.layout.size, ranks)
        if self.rtol is None:
            self.rtol = DEFAULT_RTOL.get(self.kind, 0.0)
        if self.kind == "petsc":
            from voxode.electrochem import petsc_linear

            self._backend = (
                petsc_linear.DistributedFieldSplitSolver(
                    self.layout, self.rtol, self.maxiter, self.liquid_x
                )
                if ranks > 1
                else petsc_linear.FieldSplitSolver(self.layout, self.rtol, self.maxiter)
            )
        elif self.kind == "pyamg":
            self._backend = _PyamgBlockSolver(self.layout, self.rtol, self.maxiter)

    @property
    def owned_rows(self) -> np.ndarray | None:
        """The unknowns whose rows this process owns in a distributed solve (model numbering);
        None when one process solves."""
        return self._backend.rows if self.kind == "petsc" else None

    def gather(self, owned: np.ndarray) -> np.ndarray:
        """The whole vector, on every process, from each process's values of its
        :attr:`owned_rows` (in their order).

        Parameters
        ----------
        owned : ndarray
            This process's values (a residual in A, say) of its owned rows.

        Returns
        -------
        ndarray
            The whole vector, in the model's numbering (same units).
        """
        return self._backend.gather(owned)

    def solve(self, jac: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
        """The Newton update du of J du = rhs; raises np.linalg.LinAlgError when the Krylov
        solver does not converge."""
        self.stats.solves += 1
        if self.kind == "direct":
            return spla.splu(jac.tocsc(), permc_spec="COLAMD").solve(rhs)
        rebuild = not self._backend.ready
        if rebuild:
            self.stats.setups += 1
        du, iterations, converged = self._backend.solve(jac, rhs, rebuild)
        self.stats.iterations += iterations
        if iterations > self.rebuild_after:
            self._backend.ready = False
        if not converged:
            raise np.linalg.LinAlgError(
                f"{self.kind} Krylov solver did not converge in {iterations} iterations"
            )
        return du


class _PyamgBlockSolver:
    """scipy GMRES with one block Gauss-Seidel sweep (pyamg V-cycles) as preconditioner."""

    def __init__(self, layout: Layout, rtol: float, maxiter: int):
        self.layout, self.rtol, self.maxiter = layout, rtol, maxiter
        self.ready = False
        # -1 on the voltage row makes the potential block an SPD graph Laplacian
        self._flip = np.ones(layout.potentials.stop)
        self._flip[layout.v] = -1.0
        self._hierarchies: list = []

    def _setup(self, jac: sp.csr_matrix) -> None:
        lay = self.layout
        pot = sp.diags(self._flip) @ jac[lay.potentials, lay.potentials].tocsr()
        cs = jac[lay.c_s, lay.c_s].tocsr()
        ce = jac[lay.c_e, lay.c_e].tocsr()
        self._hierarchies = [
            pyamg.ruge_stuben_solver(pot, **_RS_OPTIONS),
            (cs, cs.diagonal()),
            pyamg.ruge_stuben_solver(ce, **_RS_OPTIONS),
        ]
        self.ready = True

    def solve(
        self, jac: sp.csr_matrix, rhs: np.ndarray, rebuild: bool
    ) -> tuple[np.ndarray, int, bool]:
        if rebuild:
            self._setup(jac)
        lay, flip = self.layout, self._flip
        pot, cs, ce = lay.potentials, lay.c_s, lay.c_e
        j_spot = jac[cs, pot].tocsr()
        j_epot = jac[ce, pot].tocsr()
        j_ecs = jac[ce, cs].tocsr()
        ml_p, (j_ss, d_ss), ml_e = self._hierarchies

        def apply(r: np.ndarray) -> np.ndarray:
            out = np.empty_like(r)
            y_p = ml_p.solve(flip * r[pot], tol=1e-30, maxiter=1, accel=None)
            r_s = r[cs] - j_spot @ y_p
            y_s = r_s / d_ss
            gauss_seidel(j_ss, y_s, r_s, iterations=1, sweep="symmetric")
            y_e = ml_e.solve(r[ce] - j_epot @ y_p - j_ecs @ y_s, tol=1e-30, maxiter=1, accel=None)
            out[pot], out[cs], out[ce] = y_p, y_s, y_e
            return out

        # dtype given: otherwise LinearOperator applies the preconditioner once to find it
        precond = spla.LinearOperator(jac.shape, matvec=apply, dtype=float)
        count = [0]

        def callback(_):
            count[0] += 1

        du, info = spla.gmres(
            jac,
            rhs,
            rtol=self.rtol,
            atol=0.0,
            restart=50,
            maxiter=self.maxiter,
            M=precond,
            callback=callback,
            callback_type="pr_norm",
        )
        return du, count[0], info == 0
