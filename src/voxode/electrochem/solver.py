"""Galvanostatic discharge: adaptive backward Euler with a damped Newton solve per step.

A step is rejected and retried with half the step when Newton fails (non-finite residual, too
many iterations, a linear solve that does not converge). Newton updates are projected so that
c_s stays in (0, c_max) and c_e > 0.

Newton stops when no row's residual leaves a state error above ``NEWTON_ERROR_SHARE`` (a
tenth) of the step's error tolerance: a residual r (A) in a concentration row moves that
cell's concentration by at most r dt / (F V), so the rows are held to 0.1 tol_x F V c / dt
(c_max for c_s and the potential rows, c_e0 for c_e), never tighter than ``NEWTON_TOL`` of the
box current; and when each block's total, which the current balances see, is within
``BALANCE_TOL`` of the current. The two totals that are linear in the state, the Li taken up
against the charge passed and the salt content, are made exact by a correction of every
iterate, so that the balances are checked on the state that is kept. Against 1e-9 of the
box current in every row, on paper-pristine at 1 um: 12 % fewer Newton and 21 % fewer Krylov
iterations, the capacity equal to 2.5e-9 (benchmarks/README.md, "Speed II"). The other
totals, the net currents between the phases, at the collector and at the foil, are the
potentials' global modes: when every row is within its tolerance and only they miss, a uniform
shift of phi_s, V and phi_e (three unknowns, from the Jacobian) replaces a Newton step.

Step size: the local truncation error of backward Euler is estimated from the gap between
the solution and the linear extrapolation of the two previous states (the Newton start),
err = dt / (dt + dt_prev) |u - u_pred|, in the largest local stoichiometry change and in the
voltage. A step whose error exceeds twice its tolerance is redone shorter; otherwise the next
step is 0.9 dt (tol / err)^(1/2), within [0.5, 2] dt. A step without history is kept and the
next one is 1.8 times longer: the first step, and the second, whose history would be the cell
at rest before the current is switched on (the potentials' jump to the loaded state is not a
slope to extrapolate; on paper-pristine at 1.5 um it cut the second step from 0.9 to 0.1 s and
cost 5 more steps and 10 % more Newton iterations). The step that crosses the cut-off voltage
is shortened until it lands within ``cutoff_tol_v`` of it.

A run ends in one of the ways of :class:`EndReason`. When no step can be solved, even below
``dt_min_s``, the state says which: particle surfaces saturated, electrolyte depleted (both
physical ends of the discharge), no step at all (the current is more than the electrode can
carry), or a solver failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from voxode.electrochem.linear import LinearSolver, liquid_x
from voxode.electrochem.materials import FARADAY_C_MOL
from voxode.electrochem.model import Model
from voxode.errors import StepFailure

NEWTON_TOL = 1e-9
NEWTON_ERROR_SHARE = 0.1
BALANCE_TOL = 1e-7
MAX_POTENTIAL_UPDATE_V = 0.25
BOUND_APPROACH = 0.02
ROUNDOFF_UPDATE_V = 1e-12
SATURATED_X = 0.98  # a reactive surface cell above this stoichiometry is saturated
SATURATED_AREA_SHARE = 0.5  # ... and a discharge whose reactive area is this much saturated ended
DEPLETED_CE_SHARE = 0.01  # electrolyte below this share of c_e0 somewhere: depleted


class EndReason(StrEnum):
    """How a discharge ended."""

    CUTOFF = "cut-off reached"
    SATURATED = "surfaces saturated"
    ELECTROLYTE_DEPLETED = "electrolyte depleted"
    TIME_LIMIT = "time limit"
    NO_STEP = "no step"
    SOLVER_FAILURE = "solver failure"

    @property
    def physical(self) -> bool:
        """True when the discharge itself ended (a result); False when the run could not go on."""
        return self not in (EndReason.NO_STEP, EndReason.SOLVER_FAILURE)


@dataclass(frozen=True)
class DischargeEnd:
    """The end of a discharge: why, when (s) and at which voltage (V), with the solver's detail."""

    reason: EndReason
    t_s: float
    voltage_v: float
    detail: str = ""

    def describe(self) -> str:
        """One line for people, e.g. 'surfaces saturated at 3.2150 V after 3412 s (...)'."""
        if self.reason is EndReason.NO_STEP:
            text = f"no time step could be solved from {self.voltage_v:.4f} V"
        else:
            text = f"{self.reason.value} at {self.voltage_v:.4f} V after {self.t_s:.0f} s"
        return text + (f" ({self.detail})" if self.detail else "")


@dataclass
class SolverOptions:
    """Time-stepping and Newton settings (seconds, volts, stoichiometry).

    Attributes
    ----------
    dt_initial_s, dt_max_s, dt_min_s : float
        First, largest and smallest time step (s).
    tol_x : float
        Local error in stoichiometry per step.
    tol_v : float
        Local error in voltage per step (V).
    cutoff_tol_v : float
        The step that crosses the cut-off voltage lands within this of it (V).
    newton_max_iter : int
        Newton iterations per step at most.
    linear : str
        Linear solver: auto, direct, petsc or pyamg (see :mod:`.linear`).
    linear_rtol : float, optional
        Inexact Newton: GMRES tolerance (None: ``linear.DEFAULT_RTOL``).
    """

    dt_initial_s: float = 0.5
    dt_max_s: float = 300.0
    dt_min_s: float = 1e-3
    tol_x: float = 2e-3  # local error in stoichiometry per step
    tol_v: float = 2e-3  # local error in voltage per step (V)
    cutoff_tol_v: float = 2e-3
    newton_max_iter: int = 10
    linear: str = "auto"  # linear solver: auto, direct, petsc or pyamg (see linear)
    linear_rtol: float | None = None  # inexact Newton: GMRES tolerance (None: linear.DEFAULT_RTOL)


@dataclass
class Counters:
    steps: int = 0
    rejected: int = 0
    newton: int = 0


@dataclass
class StepRecord:
    t_s: float
    voltage_v: float
    state: np.ndarray


@dataclass
class Stepper:
    """Advances a :class:`Model` in time at a constant applied current."""

    model: Model
    current_a: float
    reference_current_a: float
    options: SolverOptions = field(default_factory=SolverOptions)
    counters: Counters = field(default_factory=Counters)

    def __post_init__(self) -> None:
        self.linear = LinearSolver(
            self.model.layout,
            kind=self.options.linear,
            rtol=self.options.linear_rtol,
            liquid_x=liquid_x(self.model.grid),
        )
        self._row_charge_c = self._row_charges()
        self._modes = self._potential_modes()
        self._rows = self.linear.owned_rows
        if self._rows is not None:
            # distributed: each process assembles its own rows and gathers the others'
            self.model.restrict(self._rows)

    def _residual(self, u: np.ndarray, u_old: np.ndarray, dt_s: float) -> np.ndarray:
        """The step's residual, whole on every process (with its derivatives kept)."""
        r = self.model.residual(u, u_old, dt_s, self.current_a)
        return r if self._rows is None else self.linear.gather(r[self._rows])

    def _row_charges(self) -> np.ndarray:
        """Charge (C) per residual row that a stoichiometry (or relative salt) change of 1
        stands for: F V c_max for the c_s rows (V the NMC cell's volume), F h^3 c_max for the
        potential and voltage rows, F V_liquid c_e0 for the c_e rows.

        A residual of r (A) in a c_s or c_e row moves that cell's concentration by at most
        r dt / (F V) (storage makes these blocks strictly diagonally dominant), so
        r dt / charge bounds the state error it leaves. A current imbalance in a potential
        row misplaces as much reaction current, so it is weighed like a c_s row.
        """
        model, lay = self.model, self.model.layout
        charge = np.full(lay.size, FARADAY_C_MOL * model.grid.h_m**3 * model.c_max)
        charge[lay.c_s] = FARADAY_C_MOL * model.nmc_volume * model.c_max
        charge[lay.c_e] = (
            FARADAY_C_MOL * model.grid.liquid_volume_m3 * model.params.electrolyte.c_initial_mol_m3
        )
        return charge

    def _potential_modes(self) -> sp.csr_matrix:
        """Indicators (unknowns x 3) of a uniform shift of phi_s, of V and of phi_e: the modes
        whose residual totals are the current balances (:meth:`_balance`)."""
        lay = self.model.layout
        rows = np.r_[
            np.arange(lay.phi_s.start, lay.phi_s.stop),
            lay.v,
            np.arange(lay.phi_e.start, lay.phi_e.stop),
        ]
        cols = np.r_[np.zeros(lay.n_solid, int), 1, np.full(lay.n_liquid, 2)]
        return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(lay.size, 3))

    def _balance(self, u: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``u`` with phi_s, V and phi_e shifted uniformly so that, to first order, the residual
        totals of the solid rows, the voltage row and the liquid rows vanish: the net current
        between the phases, at the collector and at the foil. Returns ``u``, shifted in place.

        These totals are the potentials' global modes; with every row already within its
        tolerance they alone held Newton for one more iteration (a Krylov solve) in about
        half the steps. A uniform shift changes only the reaction, collector and foil
        currents; the 3 x 3 system comes from the Jacobian of the last residual.
        """
        response = (self.model.jacobian() @ self._modes).toarray()
        if self._rows is not None:
            response = np.column_stack([self.linear.gather(c[self._rows]) for c in response.T])
        gain = self._modes.T @ response
        totals = self._modes.T @ r
        try:
            shift = np.linalg.solve(gain, -totals)
        except np.linalg.LinAlgError:
            return u
        u += self._modes @ shift
        return u

    def newton(self, u_old: np.ndarray, guess: np.ndarray, dt_s: float) -> np.ndarray:
        """Solve one backward-Euler step; raises StepFailure."""
        lay = self.model.layout
        c_max = self.model.c_max
        u = self._conserve(guess.copy(), u_old, dt_s)
        scale = self.reference_current_a
        tol_a = np.maximum(
            NEWTON_ERROR_SHARE * self.options.tol_x / dt_s * self._row_charge_c,
            NEWTON_TOL * scale,
        )
        balanced = False
        for _ in range(self.options.newton_max_iter):
            r = self._residual(u, u_old, dt_s)
            self.counters.newton += 1
            if not np.all(np.isfinite(r)):
                raise StepFailure("non-finite residual")
            rows_ok = bool(np.all(np.abs(r) <= tol_a))
            if rows_ok and self._totals_ok(r, scale):
                return u
            if rows_ok and not balanced:
                u = self._balance(u, r)
                balanced = True
                continue
            balanced = False
            try:
                du = self.linear.solve(self.model.jacobian(), -r)
            except (np.linalg.LinAlgError, RuntimeError) as exc:
                raise StepFailure(f"linear solve failed: {exc}") from None
            dphi = np.abs(du[lay.potentials]).max(initial=0.0)
            if (
                dphi < ROUNDOFF_UPDATE_V
                and np.all(np.abs(du[lay.c_s]) <= 1e-12 * c_max)
                and np.all(np.abs(du[lay.c_e]) <= 1e-12 * u[lay.c_e])
            ):
                # converged to the rounding floor of the residual
                return self._conserve(u + du, u_old, dt_s)
            alpha = min(1.0, MAX_POTENTIAL_UPDATE_V / dphi) if dphi > 0 else 1.0
            new = u + alpha * du
            # projected update: the distance of a concentration to its bound shrinks at most
            # by BOUND_APPROACH per iteration (i0 ~ sqrt(c_max - c_s) is steep near saturation)
            new[lay.c_s] = np.clip(
                new[lay.c_s],
                BOUND_APPROACH * u[lay.c_s],
                c_max - BOUND_APPROACH * (c_max - u[lay.c_s]),
            )
            new[lay.c_e] = np.maximum(new[lay.c_e], BOUND_APPROACH * u[lay.c_e])
            u = self._conserve(new, u_old, dt_s)
        raise StepFailure(f"Newton did not converge in {self.options.newton_max_iter} iterations")

    def _conserve(self, u: np.ndarray, u_old: np.ndarray, dt_s: float) -> np.ndarray:
        """``u`` with the step's linear invariants made exact: the Li taken up by the NMC
        cells equals the charge passed, I dt / F, and the salt content is unchanged.

        These are the only residual combinations that are linear in the state (the sum of
        the c_s rows minus the solid rows plus the voltage row is the Li storage less I;
        the sum of the c_e rows less (1 - t+) times the liquid rows is the salt storage),
        so an iterate misses them by the linear solver's tolerance (and the predictor by its
        clipping), and the misses would add up over the steps. Missing Li fills every cell's
        vacancy c_max - c_s by the same share (excess Li leaves every cell's c_s by the same
        share), and c_e is scaled by one factor: the concentrations stay within their bounds,
        and a nearly saturated surface, whose exchange current is steep in c_max - c_s,
        changes in proportion (a uniform shift pushed such cells past c_max and cost 81
        rejected steps at 1.5 um). Returns ``u``, corrected in place.
        """
        model, lay = self.model, self.model.layout
        volume_m3 = model.nmc_volume
        c_s = u[lay.c_s]
        missing_mol = self.current_a * dt_s / FARADAY_C_MOL - float(
            (c_s - u_old[lay.c_s]) @ volume_m3
        )
        if missing_mol > 0.0:
            c_s += missing_mol / float((model.c_max - c_s) @ volume_m3) * (model.c_max - c_s)
        else:
            c_s += missing_mol / float(c_s @ volume_m3) * c_s
        liquid_m3 = model.grid.liquid_volume_m3
        u[lay.c_e] *= float(u_old[lay.c_e] @ liquid_m3) / float(u[lay.c_e] @ liquid_m3)
        return u

    def _totals_ok(self, r: np.ndarray, scale: float) -> bool:
        """Each block's total (what the conservation checks see) balanced to ``BALANCE_TOL``
        of the reference current ``scale`` (A)."""
        lay = self.model.layout
        sums = [r[b].sum() for b in (lay.phi_s, lay.phi_e, lay.c_s, lay.c_e)] + [r[lay.v]]
        return max(abs(x) for x in sums) <= BALANCE_TOL * scale

    def _error_ratio(
        self, u: np.ndarray, predicted: np.ndarray, dt_s: float, dt_prev_s: float
    ) -> float:
        """Estimated local error of the step over its tolerance (stoichiometry and voltage)."""
        lay, opts = self.model.layout, self.options
        w = dt_s / (dt_s + dt_prev_s)
        err_x = w * np.abs(u[lay.c_s] - predicted[lay.c_s]).max(initial=0.0) / self.model.c_max
        err_v = w * abs(u[lay.v] - predicted[lay.v])
        return max(err_x / opts.tol_x, err_v / opts.tol_v)

    def run(
        self,
        cutoff_v: float,
        t_end_s: float,
        start: StepRecord,
        on_step: Callable[[StepRecord, StepRecord, float], None] | None = None,
        dt_s: float | None = None,
        previous: StepRecord | None = None,
    ) -> tuple[StepRecord, StepRecord, DischargeEnd]:
        """Discharge from ``start`` until the cut-off voltage or ``t_end_s``; ``previous``,
        the step before ``start`` (on a resume), gives the predictor its history.

        ``on_step(previous, accepted, next_dt)`` is called after every accepted step. Returns
        the last two accepted steps (the cut-off lies between them) and how the run ended.
        """
        opts = self.options
        lay = self.model.layout
        c_max = self.model.c_max
        before, last = previous or start, start
        dt = dt_s or opts.dt_initial_s
        while True:
            dt = min(dt, opts.dt_max_s, t_end_s - last.t_s)
            guess = predicted = last.state
            # no history across the switch-on: the state at t = 0 is at rest, and a slope from
            # it would extrapolate the potentials' jump to the loaded state
            history = last is not before and before.t_s > 0.0
            if history:
                # linear extrapolation of the last two states: Newton's start and the error gauge
                slope = (last.state - before.state) / (last.t_s - before.t_s)
                predicted = last.state + dt * slope
                guess = predicted.copy()
                guess[lay.c_s] = np.clip(
                    guess[lay.c_s],
                    0.5 * last.state[lay.c_s],
                    c_max - 0.5 * (c_max - last.state[lay.c_s]),
                )
                guess[lay.c_e] = np.maximum(guess[lay.c_e], 0.5 * last.state[lay.c_e])
            try:
                u = self.newton(last.state, guess, dt)
            except StepFailure as exc:
                self.counters.rejected += 1
                dt *= 0.5
                if dt < opts.dt_min_s:
                    return (
                        before,
                        last,
                        self._stuck(
                            last,
                            f"{exc} with steps below {opts.dt_min_s:g} s",
                            no_step=self.counters.steps == 0 and last.t_s == 0.0,
                        ),
                    )
                continue
            v = float(u[lay.v])
            if v < cutoff_v - opts.cutoff_tol_v and dt > opts.dt_min_s:
                self.counters.rejected += 1
                frac = (last.voltage_v - cutoff_v) / max(last.voltage_v - v, 1e-12)
                dt = max(dt * min(max(frac, 0.05), 0.5), opts.dt_min_s)
                continue
            ratio = self._error_ratio(u, predicted, dt, last.t_s - before.t_s) if history else 0.25
            if ratio > 2.0 and dt > opts.dt_min_s:
                self.counters.rejected += 1
                dt = max(dt * max(0.9 / np.sqrt(ratio), 0.2), opts.dt_min_s)
                continue
            before, last = last, StepRecord(last.t_s + dt, v, u)
            self.counters.steps += 1
            dt = dt * float(np.clip(0.9 / np.sqrt(max(ratio, 1e-12)), 0.5, 2.0))
            if on_step is not None:
                on_step(before, last, dt)
            if v <= cutoff_v:
                return before, last, DischargeEnd(EndReason.CUTOFF, last.t_s, v)
            if last.t_s >= t_end_s - 1e-9:
                return before, last, DischargeEnd(EndReason.TIME_LIMIT, last.t_s, v)

    def _stuck(self, last: StepRecord, why: str, no_step: bool) -> DischargeEnd:
        """Why no further step could be solved from ``last``: read from its state."""
        if no_step:
            return DischargeEnd(
                EndReason.NO_STEP,
                last.t_s,
                last.voltage_v,
                f"{why}: the current is more than the electrode can carry; lower it",
            )
        model, lay = self.model, self.model.layout
        g = model.grid
        x = last.state[lay.c_s][g.reaction_nmc] / model.c_max
        saturated = float(
            g.reaction_area_m2[x >= SATURATED_X].sum() / max(g.reaction_area_m2.sum(), 1e-300)
        )
        c_e0 = model.params.electrolyte.c_initial_mol_m3
        c_e_min = float(last.state[lay.c_e].min(initial=c_e0))
        state = (
            f"{100 * saturated:.0f} % of the reactive area at x "
            f">= {SATURATED_X:g}, min c_e {c_e_min:.3g} mol/m^3"
        )
        if saturated >= SATURATED_AREA_SHARE:
            return DischargeEnd(EndReason.SATURATED, last.t_s, last.voltage_v, state)
        if c_e_min <= DEPLETED_CE_SHARE * c_e0:
            return DischargeEnd(EndReason.ELECTROLYTE_DEPLETED, last.t_s, last.voltage_v, state)
        return DischargeEnd(EndReason.SOLVER_FAILURE, last.t_s, last.voltage_v, f"{why}; {state}")
