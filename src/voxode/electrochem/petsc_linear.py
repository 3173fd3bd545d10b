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
``STRONG_THRESHOLD`` (hypre's recommendation for 3D problems) and l1-Gauss-Seidel smoothing
in the rows' order. On Jacobians of paper-pristine at 1.5 um, aggressive coarsening cut the
cost of a preconditioner application from 14-15 to 9-10 ms for 1-3 more iterations, and
l1-Gauss-Seidel to 7 ms (benchmarks/README.md, "Speed II"). hypre's default order, C-points
then F-points, reads each level's matrix twice per sweep: in the rows' order a Krylov
iteration cost 9-20 % less on 1 um Jacobians for 0-1 more iterations, and a 1.5 um discharge
11 % less CPU (side by side, "Speed II").

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

Under ``mpiexec -n N`` (:class:`DistributedFieldSplitSolver`) the same solver runs on the N
processes of ``PETSc.COMM_WORLD``: each process assembles the residual and the Jacobian of its
own rows (:meth:`Model.restrict <voxode.electrochem.model.Model.restrict>`), keeps those rows in
an MPIAIJ matrix on value arrays it shares, as on one process, and gets the whole residual and
the whole solution back (``VecScatterCreateToAll``), so the replicated Newton iteration and step
control take the same decisions on every process without further communication. Each process owns a
near-equal share of every split, so the splits' AMG and SOR work is balanced (the PETSc log of
paper-pristine at 1 um on 2 processes: flops of every event equal within 5 %). hypre's parallel
coarsening and l1-Gauss-Seidel, and SOR on each process's own rows (``pc_sor_local_symmetric``;
on one process the symmetric sweep itself), make the preconditioner differ from the
one-process one, so the discharges agree to Newton's tolerance, not to rounding: 1e-9 of the
capacity at 1 um (benchmarks/README.md, "Speed II", "MPI ranks").
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import petsc4py

petsc4py.init(sys.argv[:1])
from petsc4py import PETSc  # noqa: E402

from voxode.electrochem.model import Layout  # noqa: E402
from voxode.errors import LinearSolverError  # noqa: E402
from voxode.ranks import world_size  # noqa: E402

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
    "pc_hypre_boomeramg_no_CF": "",  # smooth in the rows' order, not C-points then F-points
}
# one symmetric sweep; over several processes, one on each process's rows (block Jacobi)
_SOR_OPTIONS = {"pc_type": "sor", "pc_sor_local_symmetric": "", "pc_sor_its": 1}
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


def _configure(ksp: PETSc.KSP, prefix: str, splits: dict[str, tuple[PETSc.IS, dict]]) -> None:
    """Make ``ksp`` (its operator set) the GMRES with the field-split preconditioner of the
    module doc; ``splits``: name -> (the split's unknowns that this process owns, in the
    matrix's numbering; the options of its block solver)."""
    ksp.setOptionsPrefix(prefix)
    ksp.setType(PETSc.KSP.Type.GMRES)  # left preconditioning: see the module doc
    ksp.setGMRESRestart(GMRES_RESTART)
    ksp.setInitialGuessNonzero(False)
    pc = ksp.getPC()
    pc.setType(PETSc.PC.Type.FIELDSPLIT)
    pc.setFieldSplitType(PETSc.PC.CompositeType.MULTIPLICATIVE)
    opts = PETSc.Options()
    keys = []
    for name, (index_set, options) in splits.items():
        pc.setFieldSplitIS((name, index_set))
        for key, value in {"ksp_type": "preonly", **options}.items():
            keys.append(f"{prefix}fieldsplit_{name}_{key}")
            opts[keys[-1]] = value
    ksp.setFromOptions()
    ksp.setUp()  # the split solvers read their options here
    for key in keys:
        del opts[key]


class FieldSplitSolver:
    """GMRES(``GMRES_RESTART``) to ``rtol`` with the field-split preconditioner above, on one
    process."""

    def __init__(self, layout: Layout, rtol: float, maxiter: int):
        self.layout = layout
        self.ready = False
        self.rows: np.ndarray | None = None  # the rows this process owns, when distributed
        self._v = layout.v
        self._ksp: PETSc.KSP | None = None
        self._mat: PETSc.Mat | None = None
        self._data = np.empty(0)  # the matrix values, shared with self._mat
        self._flip: slice | np.ndarray = slice(0, 0)  # the voltage row's values, negated
        self._rtol, self._maxiter = rtol, maxiter
        self._prefix = f"voxode{next(_PREFIX)}_"

    def solve(self, jac, rhs: np.ndarray, rebuild: bool) -> tuple[np.ndarray, int, bool]:
        """Solve ``jac`` du = ``rhs`` (a SciPy CSR matrix of the fixed pattern); rebuild the
        preconditioner first when ``rebuild``. Returns du, the iterations and convergence."""
        if self._mat is None:
            self._mat = self._create_matrix(jac)
            self._ksp = PETSc.KSP().create(comm=self._mat.getComm())
            self._ksp.setOperators(self._mat)
            self._ksp.setTolerances(rtol=self._rtol, atol=0.0, max_it=self._maxiter)
            _configure(self._ksp, self._prefix, self._split_sets())
        else:
            self._update_matrix(jac)
        self._ksp.getPC().setReusePreconditioner(not rebuild)
        self.ready = True
        x, b = self._mat.createVecs()
        b.setArray(self._local_rhs(rhs))
        self._ksp.solve(b, x)
        iterations = self._ksp.getIterationNumber()
        converged = self._ksp.getConvergedReason() > 0
        return self._whole(x), iterations, converged

    def _create_matrix(self, jac) -> PETSc.Mat:
        """The PETSc matrix of ``jac`` with the voltage row negated, on values it shares."""
        self._data = jac.data.copy()
        self._flip = slice(jac.indptr[self._v], jac.indptr[self._v + 1])
        self._data[self._flip] *= -1.0
        n = jac.shape[0]
        csr = (jac.indptr.astype(PETSc.IntType), jac.indices.astype(PETSc.IntType), self._data)
        return PETSc.Mat().createAIJWithArrays(size=(n, n), csr=csr, comm=PETSc.COMM_SELF)

    def _update_matrix(self, jac) -> None:
        np.copyto(self._data, jac.data)
        self._data[self._flip] *= -1.0
        self._mat.assemble()  # PETSc reads self._data in place: only its state changes

    def _split_sets(self) -> dict[str, tuple[PETSc.IS, dict]]:
        return {
            name: (PETSc.IS().createGeneral(index.astype(PETSc.IntType), comm=PETSc.COMM_SELF), opt)
            for name, (index, opt) in field_splits(self.layout).items()
        }

    def _local_rhs(self, rhs: np.ndarray) -> np.ndarray:
        b = rhs.copy()
        b[self._v] *= -1.0
        return b

    def _whole(self, x: PETSc.Vec) -> np.ndarray:
        return x.getArray().copy()


class DistributedFieldSplitSolver(FieldSplitSolver):
    """The same solver over the processes of ``PETSc.COMM_WORLD`` (``mpiexec -n N``).

    Every process assembles its own rows (:attr:`rows`) and gets the whole residual
    (:meth:`gather`) and the whole solution back. Each owns a near-equal contiguous chunk of
    every split's unknowns, so that
    the splits are balanced; the PETSc numbering puts process 0's chunks first (solid, liquid,
    c_s, c_e), then process 1's, and so on. The grid numbers the electrode's cells in x-major
    voxel order, so a chunk is a slab of the electrode in x. It numbers the separator's cells
    after the electrode's: with ``liquid_x`` (the x index of each liquid cell) the liquid
    splits are cut by x, separator included, which on paper-pristine at 1 um halved the
    nonzeros that couple two processes (76k to 34k on 2, 483k to 226k on 8); without it the
    last process would own the whole separator, coupled to every other one's top plane.
    """

    def __init__(
        self, layout: Layout, rtol: float, maxiter: int, liquid_x: np.ndarray | None = None
    ):
        super().__init__(layout, rtol, maxiter)
        comm = PETSc.COMM_WORLD
        size, rank = comm.getSize(), comm.getRank()
        if size != world_size():
            raise LinearSolverError(
                f"mpiexec started {world_size()} processes but PETSc sees {size}: petsc4py is "
                "built against another MPI than this mpiexec's"
            )
        splits = {name: index for name, (index, _) in field_splits(layout).items()}
        if liquid_x is not None:
            by_x = np.argsort(liquid_x, kind="stable")
            splits["liquid"], splits["ce"] = splits["liquid"][by_x], splits["ce"][by_x]
        chunks = {name: np.array_split(index, size) for name, index in splits.items()}
        self._order = np.concatenate([c[r] for r in range(size) for c in chunks.values()])
        self.rows = np.concatenate([c[rank] for c in chunks.values()])
        first = sum(c[r].size for r in range(rank) for c in chunks.values())
        self._ranges = {}
        for name, c in chunks.items():
            self._ranges[name] = (first, c[rank].size)
            first += c[rank].size
        self._v_local = np.flatnonzero(self.rows == self._v)
        self._scatter: PETSc.Scatter | None = None
        self._gathered: PETSc.Vec | None = None  # a whole vector, on every process
        self._owned: PETSc.Vec | None = None  # the owned rows' values, to be gathered

    def _create_matrix(self, jac) -> PETSc.Mat:
        """The owned rows of ``jac`` in the PETSc numbering, voltage row negated (MPIAIJ), on
        value arrays it shares with this object: the block of the owned columns and the block
        of the others (``MatCreateMPIAIJWithSplitArrays``). Each update copies the new values
        into them, as on one process; inserting them with ``MatSetValuesCSR``, which looks up
        every entry's place, took 4.6 s of an 88 s discharge at 1 um on two processes."""
        n = jac.shape[0]
        number = np.empty(n, dtype=PETSc.IntType)
        number[self._order] = np.arange(n, dtype=PETSc.IntType)
        counts = np.diff(jac.indptr)[self.rows]
        row = np.repeat(np.arange(self.rows.size), counts)
        take = np.arange(counts.sum()) + np.repeat(
            jac.indptr[self.rows] - np.cumsum(counts) + counts, counts
        )
        columns = number[jac.indices[take]]
        order = np.lexsort((columns, row))  # PETSc wants each row's columns sorted
        take, columns, row = take[order], columns[order], row[order]
        first = self._ranges[next(iter(self._ranges))][0]  # this process's first row and column
        local = self.rows.size
        owned = (columns >= first) & (columns < first + local)
        self._blocks = []  # (positions in jac.data, shared values, voltage-row entries) each
        csr = []
        for part, offset in ((owned, first), (~owned, 0)):
            indptr = np.r_[0, np.cumsum(np.bincount(row[part], minlength=local))]
            values = np.empty(np.count_nonzero(part))
            flip = np.flatnonzero(self.rows[row[part]] == self._v)
            self._blocks.append((take[part], values, flip))
            csr.append((indptr.astype(PETSc.IntType), columns[part] - offset, values))
        self._fill(jac)
        self._csr = tuple(csr)  # PETSc uses these arrays for the matrix's lifetime
        return PETSc.Mat().createAIJWithArrays(
            size=((local, n), (local, n)), csr=self._csr, comm=PETSc.COMM_WORLD
        )

    def _fill(self, jac) -> None:
        """Copy the owned rows' values of ``jac`` into the shared arrays, voltage row negated."""
        for take, values, flip in self._blocks:
            np.take(jac.data, take, out=values)
            values[flip] *= -1.0

    def _update_matrix(self, jac) -> None:
        self._fill(jac)
        self._mat.assemble()  # PETSc reads the shared arrays in place: only its state changes

    def _split_sets(self) -> dict[str, tuple[PETSc.IS, dict]]:
        splits = field_splits(self.layout)
        return {
            name: (
                PETSc.IS().createStride(size, first=first, step=1, comm=PETSc.COMM_WORLD),
                splits[name][1],
            )
            for name, (first, size) in self._ranges.items()
        }

    def _local_rhs(self, rhs: np.ndarray) -> np.ndarray:
        b = rhs[self.rows]
        b[self._v_local] *= -1.0
        return b

    def gather(self, owned: np.ndarray) -> np.ndarray:
        """The whole vector (model numbering), on every process, from each process's values
        of its :attr:`rows` (a residual assembled on those rows only)."""
        if self._owned is None:
            self._owned = PETSc.Vec().createMPI((self.rows.size, self._order.size))
        self._owned.setArray(owned)
        return self._whole(self._owned)

    def _whole(self, x: PETSc.Vec) -> np.ndarray:
        """A vector of the PETSc numbering, whole and in the model's numbering, on every
        process."""
        if self._scatter is None:
            self._scatter, self._gathered = PETSc.Scatter.toAll(x)
        self._scatter.scatter(x, self._gathered, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
        du = np.empty(self._order.size)
        du[self._order] = self._gathered.getArray()
        return du
