"""Linear solves of the Newton systems: sparse LU for small grids, AMG-preconditioned GMRES
for large ones.

The iterative solver preconditions the Jacobian J with one block Gauss-Seidel sweep over
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

GMRES stops at ``rtol`` of the Newton residual (1e-3 from the stepper): Newton still converges
to its own tolerance, in the same number of iterations as with 1e-7 (376 vs 368 on
paper-pristine at 1.5 um, capacity equal to 1e-9), with 28 % fewer Krylov iterations.

The AMG hierarchies are reused across Newton iterations and time steps until a solve needs
more than ``rebuild_after`` Krylov iterations (a setup costs about 13 iterations). On
paper-pristine at 1.5 um, rebuilding after 25 iterations took 102 s of CPU, after 40: 122 s,
and rebuilding at every time step: 132 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyamg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import gauss_seidel

from .model import Layout

DIRECT_LIMIT = 8_000
_RS_OPTIONS = dict(CF=("RS", {"second_pass": True}), max_coarse=400,
                   presmoother=("gauss_seidel", {"sweep": "forward"}),
                   postsmoother=("gauss_seidel", {"sweep": "backward"}))


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
    rebuild_after: int = 25
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
        self._hierarchies = [pyamg.ruge_stuben_solver(pot, **_RS_OPTIONS), (cs, cs.diagonal()),
                             pyamg.ruge_stuben_solver(ce, **_RS_OPTIONS)]

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

        du, info = spla.gmres(jac, rhs, rtol=self.rtol, atol=0.0, restart=50, maxiter=self.maxiter,
                              M=precond, callback=callback, callback_type="pr_norm")
        self.stats.iterations += count[0]
        if count[0] > self.rebuild_after:
            self._hierarchies = None
        if info != 0:
            raise np.linalg.LinAlgError(f"GMRES did not converge in {count[0]} iterations")
        return du
