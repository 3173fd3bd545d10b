"""Residual and Jacobian of the microstructure-resolved Newman model, one backward-Euler step.

Unknowns, in this order: phi_s (solid cells), phi_e (liquid cells), V (cell voltage), c_s (NMC
cells), c_e (liquid cells); potentials in V, concentrations in mol/m^3. Every equation is a
cell balance integrated over the cell, in A (mass balances are multiplied by F), so a residual
row is the charge, or F times the moles, per second that the cell fails to balance.

- solid:   sum_faces sigma (phi_s,i - phi_s,j) A/d + collector + sum_reactive A i = 0
- liquid:  sum_faces I_e - sum_reactive A i - foil A i_Li = 0,
           I_e = kappa(c) [(phi_i - phi_j) - 2 (1 - t+) TDF RT/F (ln c_i - ln c_j)] A/d
- voltage: sum_collector g (phi_s - V - I R_c) - I = 0 (galvanostatic); V is the terminal
           voltage, R_c the contact resistance of the box (ohm), so the collector sits at V + I R_c
- NMC:     F V (c - c_old)/dt + F D_s(x_f) (c_i - c_j) A/d + sum_reactive A i = 0, with D_s at
           the mean face stoichiometry x_f = (c_i + c_j) / (2 c_max) (a constant D_s as given)
- salt:    F eps V (c - c_old)/dt + F D(c) (c_i - c_j) A/d - (1 - t+) (sum_reactive A i
           + foil A i_Li) = 0

The salt balance is the flux form F eps dc/dt + div(F D grad c + t+ I_e) = sources with the
liquid balance (div I_e = sources) subtracted t+ times, which is exact for a constant t+. The
two forms have the same solution; this one couples salt to the potentials only through the
local reaction terms, which the block preconditioner of ``linear`` relies on.

Assembly: fluxes, reaction currents and their derivatives are numpy expressions on the face
arrays of :class:`~voxode.electrochem.grid.Grid` (parameter expressions with their generated
derivatives, :mod:`.derivative`); they are added into the residual and into the Jacobian's CSR
value array by one compiled loop each (``_add_at``), the Jacobian at positions fixed by its first
assembly (:class:`_Jacobian`). On paper-pristine at 1.5 um (78-95k unknowns, 0.8-0.9 M
nonzeros) a residual with its derivatives takes 3.4-3.7 ms and the Jacobian from them 2.0-2.8
ms, where the complex step and a CSR matrix rebuilt from triplets per Newton iteration took 12
and 6 ms (benchmarks/bench_assembly.py; benchmarks/README.md, "Speed II").

Butler-Volmer on reactive faces: i = i0 [exp(a F eta/RT) - exp(-(1-a) F eta/RT)],
eta = phi_s - phi_e - U(c_s/c_max), i0 = k c_e^0.5 c_s^0.5 (c_max - c_s)^0.5 (anodic i > 0
moves Li out of the particle). Li foil: eta = -phi_e, i0(c_e) of the parameter set. Face
coefficients use the mean concentration of the two cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from voxode.electrochem.grid import Grid, Pairs
from voxode.electrochem.materials import FARADAY_C_MOL, ParameterSet

_EXP_CAP = 60.0
_SQRT_KNEE = 1e-6  # below this stoichiometry (or vacancy) i0 follows a finite-slope C1 tail
_CE_GAP = 1e-9  # mol/m^3 below which the slope of i0(c_e) is capped


def _soft_sqrt(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sqrt(y) and its slope, continued below ``_SQRT_KNEE`` by the C1 quadratic
    sqrt(k) (y/k) (1.5 - 0.5 y/k), which is 0 at y = 0 with slope 1.5/sqrt(k).

    In i0 ~ sqrt(x (1 - x)) it keeps Newton's linear model finite at a saturated surface,
    where the root of the exact form can lie closer to x = 1 than double precision
    resolves; the kinetics change only within 1e-6 of the bounds."""
    y = np.maximum(y, 0.0)
    r = y / _SQRT_KNEE
    tail = r < 1.0
    root = np.sqrt(np.where(tail, _SQRT_KNEE, y))
    value = np.where(tail, np.sqrt(_SQRT_KNEE) * r * (1.5 - 0.5 * r), root)
    slope = np.where(tail, (1.5 - r) / np.sqrt(_SQRT_KNEE), 0.5 / root)
    return value, slope


@dataclass(frozen=True)
class Layout:
    """Offsets of the unknown blocks in the state vector."""

    n_solid: int
    n_liquid: int
    n_nmc: int

    @property
    def phi_s(self) -> slice:
        return slice(0, self.n_solid)

    @property
    def phi_e(self) -> slice:
        return slice(self.n_solid, self.n_solid + self.n_liquid)

    @property
    def v(self) -> int:
        return self.n_solid + self.n_liquid

    @property
    def c_s(self) -> slice:
        return slice(self.v + 1, self.v + 1 + self.n_nmc)

    @property
    def c_e(self) -> slice:
        start = self.v + 1 + self.n_nmc
        return slice(start, start + self.n_liquid)

    @property
    def size(self) -> int:
        return self.v + 1 + self.n_nmc + self.n_liquid

    @property
    def potentials(self) -> slice:
        return slice(0, self.v + 1)


@dataclass(frozen=True)
class Terms:
    """The faces whose fluxes and reactions a residual evaluates: all of the grid's, or (under
    ``mpiexec -n N``) those that add to a set of rows, the rows one process owns."""

    electronic: Pairs
    collector: Pairs
    ionic: Pairs
    diffusion: Pairs
    reaction_nmc: np.ndarray
    reaction_solid: np.ndarray
    reaction_liquid: np.ndarray
    reaction_area_m2: np.ndarray
    foil_liquid: np.ndarray
    foil_area_m2: np.ndarray

    @classmethod
    def reaching(cls, grid: Grid, layout: Layout, rows: np.ndarray | None = None) -> Terms:
        """The faces of ``grid`` that add to any of ``rows`` (unknown indices of ``layout``;
        None: every face). A residual evaluated on them is exact in ``rows``, and so is its
        Jacobian; the other rows get only part of their terms."""
        g, lay = grid, layout
        if rows is None:  # the grid's own arrays, not copies
            return cls(
                g.electronic,
                g.collector,
                g.ionic,
                g.diffusion,
                g.reaction_nmc,
                g.reaction_solid,
                g.reaction_liquid,
                g.reaction_area_m2,
                g.foil_liquid,
                g.foil_area_m2,
            )
        owned = np.zeros(lay.size, dtype=bool)
        owned[rows] = True
        P, E, S, C = lay.phi_s.start, lay.phi_e.start, lay.c_s.start, lay.c_e.start

        def pairs(faces: Pairs, *blocks: int) -> Pairs:
            keep = np.zeros(faces.i.size, dtype=bool)
            for first in blocks:
                keep |= owned[first + faces.i] | owned[first + faces.j]
            return Pairs(faces.i[keep], faces.j[keep], faces.g[keep])

        co = g.collector
        on_collector = owned[P + co.i] | owned[lay.v]
        reacts = (
            owned[P + g.reaction_solid]
            | owned[E + g.reaction_liquid]
            | owned[S + g.reaction_nmc]
            | owned[C + g.reaction_liquid]
        )
        on_foil = owned[E + g.foil_liquid] | owned[C + g.foil_liquid]
        return cls(
            electronic=pairs(g.electronic, P),
            collector=Pairs(co.i[on_collector], co.j[on_collector], co.g[on_collector]),
            ionic=pairs(g.ionic, E, C),
            diffusion=pairs(g.diffusion, S),
            reaction_nmc=g.reaction_nmc[reacts],
            reaction_solid=g.reaction_solid[reacts],
            reaction_liquid=g.reaction_liquid[reacts],
            reaction_area_m2=g.reaction_area_m2[reacts],
            foil_liquid=g.foil_liquid[on_foil],
            foil_area_m2=g.foil_area_m2[on_foil],
        )


@numba.njit(cache=True)
def _add_at(target: np.ndarray, index: np.ndarray, values: np.ndarray, scale: float) -> None:
    """target[index] += scale * values, with repeated indices summed."""
    for n in range(index.size):
        target[index[n]] += scale * values[n]


@numba.njit(cache=True)
def _csr_pattern(rows: np.ndarray, cols: np.ndarray, n: int):
    """The canonical CSR pattern (indptr, indices) of the cells (rows, cols) of an n x n
    matrix, and the position in its value array of each cell (repeated cells share one).

    A counting sort by row, then each row's few columns sorted and merged: besides ``rows``
    and ``cols``, three integer arrays of the cells' length (of their width, int32 where it
    fits). ``np.unique`` on int64 keys row * n + col held several int64 copies at once: the
    first Jacobian at 1 um peaked at 475 MiB of allocations, against 157 MiB now
    (benchmarks/README.md, "Less memory")."""
    m = rows.size
    start = np.zeros(n + 1, dtype=rows.dtype)
    for k in range(m):
        start[rows[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    order = np.empty(m, dtype=rows.dtype)
    fill = start[:-1].copy()
    for k in range(m):
        order[fill[rows[k]]] = k
        fill[rows[k]] += 1
    indptr = np.zeros(n + 1, dtype=rows.dtype)
    indices = np.empty(m, dtype=rows.dtype)
    positions = np.empty(m, dtype=rows.dtype)
    nnz = 0
    for i in range(n):
        mine = order[start[i] : start[i + 1]]
        by_col = mine[np.argsort(cols[mine])]
        for k in range(by_col.size):
            if k == 0 or cols[by_col[k]] != cols[by_col[k - 1]]:
                indices[nnz] = cols[by_col[k]]
                nnz += 1
            positions[by_col[k]] = nnz - 1
        indptr[i + 1] = nnz
    return indptr, indices[:nnz].copy(), positions


class _Jacobian:
    """A sparse matrix on the pattern of its first assembly, summed straight into the CSR
    value array.

    An assembly is a sequence of blocks of values, each added at (row0 + rows, col0 + cols)
    times a scale. The first assembly records the cells and fixes the CSR pattern, and with it
    the position in the value array of every value of every block; later assemblies, which add
    the same blocks in the same order, keep only the values, and :meth:`matrix` sums them at
    those positions. No triplets are concatenated or sorted after the first assembly.
    """

    def __init__(self, n: int):
        self.n = n
        self._blocks: list[tuple[np.ndarray, float]] = []
        self._cells: list[tuple] = []  # (row0, rows, col0, cols, shape), until the pattern is fixed
        self._positions: list[np.ndarray] | None = None
        self._indptr = self._indices = np.empty(0, dtype=np.int32)

    def reset(self) -> None:
        """Forget the values (and, before the pattern is fixed, the cells) added so far."""
        self._blocks = []
        if self._positions is None:
            self._cells = []

    def add(
        self,
        row0: int,
        rows: np.ndarray | int,
        col0: int,
        cols: np.ndarray | int,
        values: np.ndarray,
        scale: float = 1.0,
    ) -> None:
        """Add ``scale * values`` at rows ``row0 + rows`` and columns ``col0 + cols`` (index
        arrays like ``values``, or one index for all); ``values`` is kept until :meth:`matrix`."""
        if self._positions is None:
            self._cells.append((row0, rows, col0, cols, values.shape))
        self._blocks.append((values, scale))

    def _fix_pattern(self) -> None:
        sizes = np.cumsum([0] + [int(np.prod(cell[4])) for cell in self._cells])
        index_dtype = np.int32 if max(sizes[-1], self.n) < 2**31 else np.int64
        rows = np.empty(sizes[-1], dtype=index_dtype)
        cols = np.empty(sizes[-1], dtype=index_dtype)
        for (row0, r, col0, c, shape), a, b in zip(self._cells, sizes[:-1], sizes[1:], strict=True):
            np.add(row0, r, out=rows[a:b].reshape(shape), casting="unsafe")
            np.add(col0, c, out=cols[a:b].reshape(shape), casting="unsafe")
        self._cells = []
        self._indptr, self._indices, positions = _csr_pattern(rows, cols, self.n)
        for shared in (self._indptr, self._indices):
            shared.setflags(write=False)  # every matrix() shares them
        self._positions = np.split(positions, sizes[1:-1])

    def matrix(self) -> sp.csr_matrix:
        """The matrix of the values added since the last :meth:`reset` (CSR, canonical)."""
        if self._positions is None:
            self._fix_pattern()
        data = np.zeros(self._indices.size)
        for index, (values, scale) in zip(self._positions, self._blocks, strict=True):
            _add_at(data, index, values, scale)
        self._blocks = []
        return sp.csr_matrix((data, self._indices, self._indptr), shape=(self.n, self.n))


class Model:
    """The discretised half cell: state layout, initial state, residual and Jacobian."""

    def __init__(self, grid: Grid, params: ParameterSet):
        self.grid = grid
        self.params = params
        self.layout = Layout(grid.n_solid, grid.n_liquid, grid.n_nmc)
        self.f = 1.0 / params.thermal_voltage_v
        self.c_max = params.active.c_max_mol_m3
        self.nmc_volume = grid.nmc_volume_m3
        # ohm for the box: ohm cm^2 / (box area in cm^2)
        self.contact_resistance_ohm = params.collector.contact_resistance_ohm_cm2 / (
            grid.area_m2 * 1e4
        )
        self._sparse = _Jacobian(self.layout.size)
        self._all = self._terms = Terms.reaching(grid, self.layout)
        self._nmc_cells = np.arange(self.layout.n_nmc)
        self._liquid_cells = np.arange(self.layout.n_liquid)

    def restrict(self, rows: np.ndarray) -> None:
        """Evaluate the residual and the Jacobian only where they add to ``rows`` (unknown
        indices): exact in those rows, partial in the others. A process of a distributed run
        assembles the rows it owns this way and gathers the rest of the residual from the
        others (:meth:`Stepper.newton <voxode.electrochem.solver.Stepper.newton>`).

        Parameters
        ----------
        rows : ndarray of int
            Unknown indices (of :attr:`layout`) whose rows are to be exact.
        """
        self._terms = Terms.reaching(self.grid, self.layout, rows)
        self._sparse = _Jacobian(self.layout.size)

    def collector_potential(self, u: np.ndarray, current_a: float) -> float:
        """Potential (V) of the current collector behind the contact resistance: the terminal
        voltage plus I R_c at discharge current ``current_a`` (A)."""
        return float(u[self.layout.v]) + current_a * self.contact_resistance_ohm

    # ------------------------------------------------------------------ state
    def initial_state(self) -> np.ndarray:
        """Equilibrium at the start: c_s = x0 c_max, c_e = c0, phi_e = 0, phi_s = V = U(x0)."""
        lay, p = self.layout, self.params
        u = np.zeros(lay.size)
        u0 = float(p.ocp(p.active.x_initial))
        u[lay.phi_s] = u0
        u[lay.v] = u0
        u[lay.c_s] = p.active.x_initial * self.c_max
        u[lay.c_e] = p.electrolyte.c_initial_mol_m3
        return u

    def reaction_current(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Anodic current (A) of each reactive face and of each foil face at state ``u``."""
        every = self._all
        return (
            self._reaction(u, every)[0] * every.reaction_area_m2,
            self._foil(u, every)[0] * every.foil_area_m2,
        )

    # ------------------------------------------------------------------ kinetics
    def _reaction(self, u: np.ndarray, t: Terms):
        lay, p = self.layout, self.params
        cs = u[lay.c_s][t.reaction_nmc]
        ce = u[lay.c_e][t.reaction_liquid]
        dphi = u[lay.phi_s][t.reaction_solid] - u[lay.phi_e][t.reaction_liquid]
        x = cs / self.c_max
        ocp, docp = p.ocp.with_derivative(x)
        x = np.clip(x, 0.0, 1.0)
        g_lith, dg_lith = _soft_sqrt(x)
        g_vac, dg_vac = _soft_sqrt(1.0 - x)
        cec = np.maximum(ce, 0.0)
        k_ce = p.active.rate_constant * np.sqrt(cec) * self.c_max
        i0 = k_ce * g_lith * g_vac
        a = p.active.charge_transfer_coefficient
        eta = dphi - ocp
        ea = np.exp(np.clip(a * self.f * eta, -_EXP_CAP, _EXP_CAP))
        ec = np.exp(np.clip(-(1.0 - a) * self.f * eta, -_EXP_CAP, _EXP_CAP))
        bracket = ea - ec
        i = i0 * bracket
        di_deta = i0 * self.f * (a * ea + (1.0 - a) * ec)
        di0_dcs = k_ce * (dg_lith * g_vac - g_lith * dg_vac) / self.c_max
        di_dcs = -di_deta * docp / self.c_max + di0_dcs * bracket
        di_dce = 0.5 * i0 / np.maximum(cec, _CE_GAP) * bracket
        return i, di_deta, di_dcs, di_dce

    def _foil(self, u: np.ndarray, t: Terms):
        lay, p = self.layout, self.params
        ce = u[lay.c_e][t.foil_liquid]
        i0, di0 = p.foil_i0.with_derivative(np.maximum(ce, _CE_GAP))
        a = p.lithium_foil.charge_transfer_coefficient
        eta = -u[lay.phi_e][t.foil_liquid]
        ea = np.exp(np.clip(a * self.f * eta, -_EXP_CAP, _EXP_CAP))
        ec = np.exp(np.clip(-(1.0 - a) * self.f * eta, -_EXP_CAP, _EXP_CAP))
        i = i0 * (ea - ec)
        di_deta = i0 * self.f * (a * ea + (1.0 - a) * ec)
        return i, di_deta, di0 * (ea - ec)

    # ------------------------------------------------------------------ residual
    def residual(
        self, u: np.ndarray, u_old: np.ndarray, dt_s: float, current_a: float, jacobian: bool = True
    ) -> np.ndarray:
        """Residual (A per cell) of one backward-Euler step of length ``dt_s`` from ``u_old``
        at applied discharge current ``current_a`` (A for the box). With ``jacobian`` its
        derivatives are kept, and :meth:`jacobian` assembles them only if they are needed (a
        Newton iteration that has converged needs none)."""
        g, t, lay, p = self.grid, self._terms, self.layout, self.params
        F = FARADAY_C_MOL
        r = np.zeros(lay.size)
        jac = self._sparse if jacobian else None
        if jac is not None:
            jac.reset()
        P, E, V = lay.phi_s.start, lay.phi_e.start, lay.v
        S, C = lay.c_s.start, lay.c_e.start
        phis, phie, cs, ce = u[lay.phi_s], u[lay.phi_e], u[lay.c_s], u[lay.c_e]

        def pair(block: int, faces, flux: np.ndarray, derivs) -> None:
            """Add +flux to the rows of the faces' cells i and -flux to those of j (offset
            ``block``), with the derivatives ``derivs``: (column offset, column cells,
            d flux / d column, scale) each."""
            _add_at(r[block:], faces.i, flux, 1.0)
            _add_at(r[block:], faces.j, flux, -1.0)
            if jac is not None:
                for col0, cols, d, scale in derivs:
                    jac.add(block, faces.i, col0, cols, d, scale)
                    jac.add(block, faces.j, col0, cols, d, -scale)

        # electrons in the solid
        el = t.electronic
        flux = el.g * (phis[el.i] - phis[el.j])
        pair(P, el, flux, ((P, el.i, el.g, 1.0), (P, el.j, el.g, -1.0)))
        co = t.collector
        fc = co.g * (phis[co.i] - self.collector_potential(u, current_a))
        _add_at(r[P:], co.i, fc, 1.0)
        r[V] += fc.sum() - current_a
        if jac is not None:
            jac.add(P, co.i, P, co.i, co.g)
            jac.add(P, co.i, V, 0, co.g, -1.0)
            jac.add(V, 0, P, co.i, co.g)
            jac.add(V, 0, V, 0, np.array([co.g.sum()]), -1.0)

        # ions and salt in the liquid
        io = t.ionic
        ci, cj = ce[io.i], ce[io.j]
        cf = 0.5 * (ci + cj)
        kap, dkap = p.kappa.with_derivative(cf)
        dif, ddif = p.diffusivity_e.with_derivative(cf)
        beta = (
            2.0
            * (1.0 - p.electrolyte.transference_number)
            * p.electrolyte.thermodynamic_factor
            * p.thermal_voltage_v
        )
        ln_c = np.log(ce)
        drive = phie[io.i] - phie[io.j] - beta * (ln_c[io.i] - ln_c[io.j])
        cur = io.g * kap * drive
        d_cur_dphi = io.g * kap
        d_cur_dcf = 0.5 * io.g * dkap * drive
        d_cur_dci = d_cur_dcf - d_cur_dphi * beta / ci
        d_cur_dcj = d_cur_dcf + d_cur_dphi * beta / cj
        derivs = (
            (E, io.i, d_cur_dphi, 1.0),
            (E, io.j, d_cur_dphi, -1.0),
            (C, io.i, d_cur_dci, 1.0),
            (C, io.j, d_cur_dcj, 1.0),
        )
        pair(E, io, cur, derivs)
        dc = ci - cj
        gd = F * io.g * dif
        slope = 0.5 * F * io.g * ddif * dc
        pair(C, io, gd * dc, ((C, io.i, gd + slope, 1.0), (C, io.j, slope - gd, 1.0)))
        anion = 1.0 - p.electrolyte.transference_number

        # Li diffusion inside particles
        dfn = t.diffusion
        dc = cs[dfn.i] - cs[dfn.j]
        if p.constant_solid_diffusivity:
            gd = F * p.active.diffusivity_m2_s * dfn.g
            pair(S, dfn, gd * dc, ((S, dfn.i, gd, 1.0), (S, dfn.j, gd, -1.0)))
        else:
            # D_s at the mean face stoichiometry; d/dc_i of D_s(x_f) is D_s'(x_f) / (2 c_max)
            d_s, dd_s = p.solid_diffusivity.with_derivative(
                0.5 * (cs[dfn.i] + cs[dfn.j]) / self.c_max
            )
            gd = F * dfn.g * d_s
            slope = F * dfn.g * dd_s * dc * (0.5 / self.c_max)
            pair(S, dfn, gd * dc, ((S, dfn.i, gd + slope, 1.0), (S, dfn.j, slope - gd, 1.0)))

        # reactions on NMC faces: +q to solid and NMC rows, -q to liquid and salt rows
        i, di_deta, di_dcs, di_dce = self._reaction(u, t)
        area = t.reaction_area_m2
        s, e, ps = t.reaction_nmc, t.reaction_liquid, t.reaction_solid
        q = area * i
        a_deta = area * di_deta
        derivs = (
            (P, ps, a_deta, 1.0),
            (E, e, a_deta, -1.0),
            (S, s, area * di_dcs, 1.0),
            (C, e, area * di_dce, 1.0),
        )
        for row0, rows, sign in ((P, ps, 1.0), (E, e, -1.0), (S, s, 1.0), (C, e, -anion)):
            _add_at(r[row0:], rows, q, sign)
            if jac is not None:
                for col0, cols, d, scale in derivs:
                    jac.add(row0, rows, col0, cols, d, sign * scale)

        # Li foil: current into the liquid
        i_li, dli_deta, dli_dce = self._foil(u, t)
        fl = t.foil_liquid
        q_li = t.foil_area_m2 * i_li
        for row0, share in ((E, 1.0), (C, anion)):
            _add_at(r[row0:], fl, q_li, -share)
            if jac is not None:
                # d(-q)/dphi_e = +A di/deta
                jac.add(row0, fl, E, fl, t.foil_area_m2 * dli_deta, share)
                jac.add(row0, fl, C, fl, t.foil_area_m2 * dli_dce, -share)

        # storage
        m_s = F * self.nmc_volume / dt_s
        m_e = F * g.liquid_volume_m3 / dt_s
        r[lay.c_s] += m_s * (cs - u_old[lay.c_s])
        r[lay.c_e] += m_e * (ce - u_old[lay.c_e])
        if jac is not None:
            jac.add(S, self._nmc_cells, S, self._nmc_cells, m_s)
            jac.add(C, self._liquid_cells, C, self._liquid_cells, m_e)
        return r

    def jacobian(self) -> sp.csr_matrix:
        """The Jacobian (A per unit of each unknown) of the
        last ``residual(..., jacobian=True)``."""
        return self._sparse.matrix()
