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

Butler-Volmer on reactive faces: i = i0 [exp(a F eta/RT) - exp(-(1-a) F eta/RT)],
eta = phi_s - phi_e - U(c_s/c_max), i0 = k c_e^0.5 c_s^0.5 (c_max - c_s)^0.5 (anodic i > 0
moves Li out of the particle). Li foil: eta = -phi_e, i0(c_e) of the parameter set. Face
coefficients use the mean concentration of the two cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from voxode.electrochem.grid import Grid
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


def _scatter(r: np.ndarray, rows: np.ndarray, vals: np.ndarray) -> None:
    """r[rows] += vals with repeated rows summed."""
    r += np.bincount(rows, weights=vals, minlength=r.size)


class _Sparse:
    """COO triplets with a fixed pattern: the CSR structure is built once, then only summed."""

    def __init__(self, n: int):
        self.n = n
        self._map: np.ndarray | None = None
        self._indptr = self._indices = None
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []

    def reset(self) -> None:
        """Forget the values (and, before the pattern is fixed, the positions) added so far."""
        self.vals = []
        if self._map is None:
            self.rows, self.cols = [], []

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        if self._map is None:
            self.rows.append(np.broadcast_to(rows, vals.shape).astype(np.int64))
            self.cols.append(np.broadcast_to(cols, vals.shape).astype(np.int64))
        self.vals.append(vals)

    def matrix(self) -> sp.csr_matrix:
        vals = np.concatenate(self.vals)
        self.vals = []
        if self._map is None:
            rows = np.concatenate(self.rows)
            cols = np.concatenate(self.cols)
            self.rows, self.cols = [], []
            keys = rows * self.n + cols
            unique, self._map = np.unique(keys, return_inverse=True)
            r, c = np.divmod(unique, self.n)
            self._indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=self.n))])
            self._indices = c
        data = np.bincount(self._map, weights=vals, minlength=self._indices.size)
        return sp.csr_matrix(
            (data, self._indices.copy(), self._indptr.copy()), shape=(self.n, self.n)
        )


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
        self._sparse = _Sparse(self.layout.size)

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
        return self._reaction(u)[0] * self.grid.reaction_area_m2, self._foil(u)[
            0
        ] * self.grid.foil_area_m2

    # ------------------------------------------------------------------ kinetics
    def _reaction(self, u: np.ndarray):
        g, lay, p = self.grid, self.layout, self.params
        cs = u[lay.c_s][g.reaction_nmc]
        ce = u[lay.c_e][g.reaction_liquid]
        dphi = u[lay.phi_s][g.reaction_solid] - u[lay.phi_e][g.reaction_liquid]
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

    def _foil(self, u: np.ndarray):
        g, lay, p = self.grid, self.layout, self.params
        ce = u[lay.c_e][g.foil_liquid]
        i0, di0 = p.foil_i0.with_derivative(np.maximum(ce, _CE_GAP))
        a = p.lithium_foil.charge_transfer_coefficient
        eta = -u[lay.phi_e][g.foil_liquid]
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
        g, lay, p = self.grid, self.layout, self.params
        F = FARADAY_C_MOL
        r = np.zeros(lay.size)
        jac = self._sparse if jacobian else None
        if jac is not None:
            jac.reset()
        P, E, V = lay.phi_s.start, lay.phi_e.start, lay.v
        S, C = lay.c_s.start, lay.c_e.start
        phis, phie, cs, ce = u[lay.phi_s], u[lay.phi_e], u[lay.c_s], u[lay.c_e]

        def pair(i, j, flux, cols, derivs, rows_offset, scale=1.0):
            """Add +flux to row i and -flux to row j (each scaled), with its derivatives."""
            _scatter(r, rows_offset + i, scale * flux)
            _scatter(r, rows_offset + j, -scale * flux)
            if jac is not None:
                for col, d in zip(cols, derivs, strict=True):
                    jac.add(rows_offset + i, col, scale * d)
                    jac.add(rows_offset + j, col, -scale * d)

        # electrons in the solid
        el = g.electronic
        pair(el.i, el.j, el.g * (phis[el.i] - phis[el.j]), (P + el.i, P + el.j), (el.g, -el.g), P)
        co = g.collector
        fc = co.g * (phis[co.i] - self.collector_potential(u, current_a))
        _scatter(r, P + co.i, fc)
        r[V] += fc.sum() - current_a
        if jac is not None:
            jac.add(P + co.i, P + co.i, co.g)
            jac.add(P + co.i, np.full(co.i.size, V), -co.g)
            jac.add(np.full(co.i.size, V), P + co.i, co.g)
            jac.add(np.array([V]), np.array([V]), np.array([-co.g.sum()]))

        # ions and salt in the liquid
        io = g.ionic
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
        dphi = phie[io.i] - phie[io.j]
        dln = np.log(ci) - np.log(cj)
        cur = io.g * kap * (dphi - beta * dln)
        d_cur_dci = io.g * (0.5 * dkap * (dphi - beta * dln) - kap * beta / ci)
        d_cur_dcj = io.g * (0.5 * dkap * (dphi - beta * dln) + kap * beta / cj)
        d_cur_dphi = io.g * kap
        cols = (E + io.i, E + io.j, C + io.i, C + io.j)
        pair(io.i, io.j, cur, cols, (d_cur_dphi, -d_cur_dphi, d_cur_dci, d_cur_dcj), E)
        salt = F * io.g * dif * (ci - cj)
        d_salt_dci = F * io.g * (0.5 * ddif * (ci - cj) + dif)
        d_salt_dcj = F * io.g * (0.5 * ddif * (ci - cj) - dif)
        pair(io.i, io.j, salt, (C + io.i, C + io.j), (d_salt_dci, d_salt_dcj), C)
        anion = 1.0 - p.electrolyte.transference_number

        # Li diffusion inside particles
        dfn = g.diffusion
        if p.constant_solid_diffusivity:
            gd = F * p.active.diffusivity_m2_s * dfn.g
            pair(dfn.i, dfn.j, gd * (cs[dfn.i] - cs[dfn.j]), (S + dfn.i, S + dfn.j), (gd, -gd), S)
        else:
            # D_s at the mean face stoichiometry; d/dc_i of D_s(x_f) is D_s'(x_f) / (2 c_max)
            dc = cs[dfn.i] - cs[dfn.j]
            d_s, dd_s = p.solid_diffusivity.with_derivative(
                0.5 * (cs[dfn.i] + cs[dfn.j]) / self.c_max
            )
            gd = F * dfn.g * d_s
            slope = F * dfn.g * dd_s * dc * (0.5 / self.c_max)
            pair(dfn.i, dfn.j, gd * dc, (S + dfn.i, S + dfn.j), (gd + slope, -gd + slope), S)

        # reactions on NMC faces: +q to solid and NMC rows, -q to liquid and salt rows
        i, di_deta, di_dcs, di_dce = self._reaction(u)
        area = g.reaction_area_m2
        s, e = g.reaction_nmc, g.reaction_liquid
        ps = g.reaction_solid
        q = area * i
        derivs = (area * di_deta, -area * di_deta, area * di_dcs, area * di_dce)
        cols = (P + ps, E + e, S + s, C + e)
        for rows, sign in ((P + ps, 1.0), (E + e, -1.0), (S + s, 1.0), (C + e, -anion)):
            _scatter(r, rows, sign * q)
            if jac is not None:
                for col, d in zip(cols, derivs, strict=True):
                    jac.add(rows, col, sign * d)

        # Li foil: current into the liquid
        i_li, dli_deta, dli_dce = self._foil(u)
        fl = g.foil_liquid
        q_li = g.foil_area_m2 * i_li
        for rows, share in ((E + fl, 1.0), (C + fl, anion)):
            _scatter(r, rows, -share * q_li)
            if jac is not None:
                jac.add(
                    rows, E + fl, share * g.foil_area_m2 * dli_deta
                )  # d(-q)/dphi_e = +A di/deta
                jac.add(rows, C + fl, -share * g.foil_area_m2 * dli_dce)

        # storage
        m_s = F * self.nmc_volume / dt_s
        m_e = F * g.liquid_volume_m3 / dt_s
        r[lay.c_s] += m_s * (cs - u_old[lay.c_s])
        r[lay.c_e] += m_e * (ce - u_old[lay.c_e])
        if jac is not None:
            jac.add(np.arange(S, S + lay.n_nmc), np.arange(S, S + lay.n_nmc), m_s)
            jac.add(np.arange(C, C + lay.n_liquid), np.arange(C, C + lay.n_liquid), m_e)
        return r

    def jacobian(self) -> sp.csr_matrix:
        """The Jacobian (A per unit of each unknown) of the
        last ``residual(..., jacobian=True)``."""
        return self._sparse.matrix()
