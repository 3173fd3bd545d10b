"""The PETSc backend of :mod:`voxode.electrochem.linear`: GMRES with a multiplicative
field-split preconditioner and hypre BoomerAMG on the elliptic blocks.

The splits, in order, are one block Gauss-Seidel sweep (``PCFIELDSPLIT``, multiplicative):

1. ``solid``: phi_s and the cell voltage V. With the voltage row negated (the system is
   row-scaled, which leaves the solution unchanged) the block is an SPD graph Laplacian:
   electronic conductances, the collector and the galvanostatic row.
2. ``liquid``: phi_e, the ionic conductances. The Butler-Volmer conductances that couple it
   to phi_s are 4-5 decades below both diagonals (at most 1.4e-10 S against 6e-7 S solid and
   2.4e-6 S liquid on paper-pristine at 1 um, as measured for issue 15), so splitting the potentials
   costs little and gives two smaller, better-conditioned AMG problems.
3. ``c_s``: storage + particle diffusion, strictly diagonally dominant; one symmetric SOR
   sweep.
4. ``c_e``: storage + salt diffusion (not symmetric); BoomerAMG.

BoomerAMG uses HMIS coarsening with one level of aggressive coarsening, extended+i
interpolation with at most ``P_MAX`` entries per row, a strength threshold of
``STRONG_THRESHOLD`` (hypre's recommendation for 3D problems) and l1-Gauss-Seidel smoothing.
On Jacobians of paper-pristine at 1.5 um, aggressive coarsening cut the cost of a
preconditioner application from 14-15 to 9-10 ms for 1-3 more iterations, and l1-Gauss-
Seidel to 7 ms (benchmarks/README.md, "Speed II").

The Krylov method is GMRES(``GMRES_RESTART``) with left preconditioning, which tests the
preconditioned residual. With BoomerAMG's default smoothing and no aggressive coarsening,
FGMRES (right preconditioning, true residual) to 1e-3 needed 638 Newton iterations on a 12k-unknown
electrode where sparse LU needed 467, and its capacity differed by 1.3e-5; left-preconditioned GMRES
matched LU's capacity to 1e-12 (541 iterations). Its tolerance is ``linear.DEFAULT_RTOL["petsc"]`` =
1e-4: at 1e-3 the true residual was left at 1e-2..4e-2 and 11 Newton solves of a 1.5 um run failed
(81 steps, 589 Newton iterations); at 1e-4 none failed (73 steps, 385 iterations, as pyamg's 73 and
371).

Hierarchies are kept across Newton iterations and time steps (``PCSetReusePreconditioner``)
until :class:`~voxode.electrochem.linear.LinearSolver` asks for a rebuild. The Jacobian's
sparsity pattern never changes, so its PETSc matrix is created once on arrays that PETSc
shares with this module (``MatCreateSeqAIJWithArrays``), and each solve copies only the new
values into them (``MatSetValuesCSR`` took 7 ms a solve at 1.5 um, 3.5 % of a run).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import petsc4py

petsc4py.init(sys.argv[:1])
from petsc4py import PETSc  # noqa: E402

from voxode.electrochem.model import Layout  # noqa: E402

GMRES_RESTART = 50
STRONG_THRESHOLD = 0.5
P_MAX = 4
_AMG_OPTIONS = {
    "pc_type": "hypre",
    "pc_hypre_type": "boomeramg",
    "pc_hypre_boomeramg_coarsen_type": "HMIS",
    "pc_hypre_boomeramg_interp_type": "ext+i",
    "pc_hypre_boomeramg_P_max": P_MAX,
    "pc_hypre_boomeramg_strong_threshold": STRONG_THRESHOLD,
    "pc_hypre_boomeramg_agg_nl": 1,  # levels of aggressive coarsening
    "pc_hypre_boomeramg_relax_type_all": "l1-Gauss-Seidel",
}
_SOR_OPTIONS = {"pc_type": "sor", "pc_sor_symmetric": "", "pc_sor_its": 1}
_PREFIX = itertools.count()


def field_splits(layout: Layout) -> dict[str, tuple[np.ndarray, dict]]:
    """Name -> (unknown indices, PETSc options of the block solver) of each split, in order."""
    lay = layout
    solid = np.r_[np.arange(lay.phi_s.start, lay.phi_s.stop), lay.v]
    return {
        "solid": (solid, _AMG_OPTIONS),
        "liquid": (np.arange(lay.phi_e.start, lay.phi_e.stop), _AMG_OPTIONS),
        "cs": (np.arange(lay.c_s.start, lay.c_s.stop), _SOR_OPTIONS),
        "ce": (np.arange(lay.c_e.start, lay.c_e.stop), _AMG_OPTIONS),
    }


class FieldSplitSolver:
    """GMRES(``GMRES_RESTART``) to ``rtol`` with the field-split preconditioner above, on one
    process."""

    def __init__(self, layout: Layout, rtol: float, maxiter: int):
        self.layout = layout
        self.ready = False
        self._v = layout.v
        self._ksp: PETSc.KSP | None = None
        self._mat: PETSc.Mat | None = None
        self._data = np.empty(0)  # the matrix values, shared with self._mat
        self._rtol, self._maxiter = rtol, maxiter
        self._prefix = f"voxode{next(_PREFIX)}_"

    def _create(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> None:
        n = indptr.size - 1
        comm = PETSc.COMM_SELF
        self._mat = PETSc.Mat().createAIJWithArrays(
            size=(n, n), csr=(indptr, indices, data), comm=comm
        )
        ksp = PETSc.KSP().create(comm=comm)
        ksp.setOptionsPrefix(self._prefix)
        ksp.setOperators(self._mat)
        ksp.setType(PETSc.KSP.Type.GMRES)  # left preconditioning: see the module doc
        ksp.setGMRESRestart(GMRES_RESTART)
        ksp.setTolerances(rtol=self._rtol, atol=0.0, max_it=self._maxiter)
        ksp.setInitialGuessNonzero(False)
        pc = ksp.getPC()
        pc.setType(PETSc.PC.Type.FIELDSPLIT)
        pc.setFieldSplitType(PETSc.PC.CompositeType.MULTIPLICATIVE)
        opts = PETSc.Options()
        splits = field_splits(self.layout)
        for name, (index, options) in splits.items():
            pc.setFieldSplitIS(
                (name, PETSc.IS().createGeneral(index.astype(PETSc.IntType), comm=comm))
            )
            opts[f"{self._prefix}fieldsplit_{name}_ksp_type"] = "preonly"
            for key, value in options.items():
                opts[f"{self._prefix}fieldsplit_{name}_{key}"] = value
        ksp.setFromOptions()
        ksp.setUp()  # the split solvers read their options here
        for name, (_, options) in splits.items():
            for key in ("ksp_type", *options):
                del opts[f"{self._prefix}fieldsplit_{name}_{key}"]
        self._ksp = ksp

    def solve(self, jac, rhs: np.ndarray, rebuild: bool) -> tuple[np.ndarray, int, bool]:
        """Solve ``jac`` du = ``rhs`` (a SciPy CSR matrix of the fixed pattern); rebuild the
        preconditioner first when ``rebuild``. Returns du, the iterations and convergence."""
        v_row = slice(jac.indptr[self._v], jac.indptr[self._v + 1])
        if self._mat is None:
            self._data = jac.data.copy()
            self._data[v_row] *= -1.0
            self._create(
                jac.indptr.astype(PETSc.IntType), jac.indices.astype(PETSc.IntType), self._data
            )
        else:
            np.copyto(self._data, jac.data)
            self._data[v_row] *= -1.0
            self._mat.assemble()  # PETSc reads self._data in place: only its state changes
        b = rhs.copy()
        b[self._v] *= -1.0
        self._ksp.getPC().setReusePreconditioner(not rebuild)
        self.ready = True
        x, bb = self._mat.createVecs()
        bb.setArray(b)
        self._ksp.solve(bb, x)
        iterations = self._ksp.getIterationNumber()
        converged = self._ksp.getConvergedReason() > 0
        return x.getArray().copy(), iterations, converged
