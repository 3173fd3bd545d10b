"""Linear solves of the Newton systems: sparse LU for small grids, AMG-preconditioned GMRES
for large ones.

The iterative solver preconditions the Jacobian J with one block Gauss-Seidel sweep over
(potentials | c_s | c_e):

1. potentials (phi_s, phi_e, V): their block is an SPD graph Laplacian (electronic and ionic
   conductances, linearised Butler-Volmer conductances between the phases, the collector
   and the foil) once the voltage row is negated; one Ruge-Stueben AMG V-cycle (a second
   one saves a quarter of the Krylov iterations but costs more than it saves).
2. c_s given the potential update: storage + particle diffusion, one smoothed-aggregation
   V-cycle.
3. c_e given both: storage + salt diffusion, one Ruge-Stueben V-cycle on the block itself.
   Not on its symmetric part: with steep concentration gradients and a concentration-
   dependent diffusivity the block is far from symmetric, and the symmetrised hierarchy
   cost 60 % more Krylov iterations (measured on a mid-discharge Jacobian).

The AMG hierarchies are rebuilt only when the Krylov iterations grow past ``rebuild_after``,
so across Newton iterations and time steps they are reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyamg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .model import Layout

DIRECT_LIMIT = 8_000
POTENTIAL_CYCLES = 1


@dataclass
class LinearStats:
    solves: int = 0
    iterations: int = 0
    setups: int = 0


@dataclass
class LinearSolver:
    """Solves J du = b for the Newton update; ``kind`` is "direct", "iterative" or "auto"."""

    layout: Layout
    kind: str = "auto"
    rtol: float = 1e-6
    maxiter: int = 200
    rebuild_after: int = 60
    stats: LinearStats = field(default_factory=LinearStats)
    _hierarchies: list | None = None

    def __post_init__(self) -> None:
        if self.kind == "auto":
            self.kind = "direct" if self.layout.size <= DIRECT_LIMIT else "iterative"
        if self.kind not in ("direct", "iterative"):
            raise ValueError(f"linear solver must be direct, iterative or auto, got {self.kind!r}")

    def solve(self, jac: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
        """The Newton update du of J du = rhs."""
        self.stats.solves += 1
        if self.kind == "direct":
            return spla.splu(jac.tocsc(), permc_spec="COLAMD").solve(rhs)
        return self._iterative(jac, rhs)

    # ------------------------------------------------------------------ iterative
    def _blocks(self, jac: sp.csr_matrix) -> list[sp.csr_matrix]:
        lay = self.layout
        pot = lay.potentials
        blocks = [jac[pot, pot].tocsr(), jac[lay.c_s, lay.c_s].tocsr(), jac[lay.c_e, lay.c_e].tocsr()]
        flip = np.ones(pot.stop)
        flip[lay.v] = -1.0
        blocks[0] = sp.diags(flip) @ blocks[0]
        return blocks

    def _setup(self, jac: sp.csr_matrix) -> None:
        self.stats.setups += 1
        pot, cs, ce = self._blocks(jac)
        self._hierarchies = [
            pyamg.ruge_stuben_solver(pot, max_coarse=400),
            pyamg.smoothed_aggregation_solver(cs, symmetry="hermitian", max_coarse=400,
                                              improve_candidates=None),
            pyamg.ruge_stuben_solver(ce, max_coarse=400),
        ]

    def _iterative(self, jac: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
        if self._hierarchies is None:
            self._setup(jac)
        lay = self.layout
        pot, cs, ce = lay.potentials, lay.c_s, lay.c_e
        flip = np.ones(pot.stop)
        flip[lay.v] = -1.0
        j_spot = jac[cs, pot].tocsr()
        j_epot = jac[ce, pot].tocsr()
        j_ecs = jac[ce, cs].tocsr()
        ml_p, ml_s, ml_e = self._hierarchies

        def apply(r: np.ndarray) -> np.ndarray:
            out = np.empty_like(r)
            y_p = ml_p.solve(flip * r[pot], tol=1e-30, maxiter=POTENTIAL_CYCLES, accel=None)
            y_s = ml_s.solve(r[cs] - j_spot @ y_p, tol=1e-30, maxiter=1, accel=None)
            y_e = ml_e.solve(r[ce] - j_epot @ y_p - j_ecs @ y_s, tol=1e-30, maxiter=1, accel=None)
            out[pot], out[cs], out[ce] = y_p, y_s, y_e
            return out

        # dtype given: otherwise LinearOperator applies the preconditioner once to find it
        precond = spla.LinearOperator(jac.shape, matvec=apply, dtype=float)
        count = [0]

        def callback(_):
            count[0] += 1

        du, info = spla.gmres(jac, rhs, rtol=self.rtol, atol=0.0, restart=50, maxiter=self.maxiter,
                              M=precond, callback=callback, callback_type="pr_norm")
        self.stats.iterations += count[0]
        if count[0] > self.rebuild_after:
            self._hierarchies = None
        if info != 0:
            raise np.linalg.LinAlgError(f"GMRES did not converge in {count[0]} iterations")
        return du
