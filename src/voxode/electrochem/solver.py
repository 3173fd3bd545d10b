"""Galvanostatic discharge: adaptive backward Euler with a damped Newton solve per step.

A step is rejected and retried with half the step when Newton fails (non-finite residual, too
many iterations, a linear solve that does not converge). Newton updates are projected so that
c_s stays in (0, c_max) and c_e > 0. The step grows or shrinks to keep the largest
change of local stoichiometry and of the voltage per step near their targets. The step that
crosses the cut-off voltage is shortened until it lands within ``cutoff_tol_v`` of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .linear import LinearSolver
from .model import Model

NEWTON_TOL = 1e-9
MAX_POTENTIAL_UPDATE_V = 0.25
BOUND_APPROACH = 0.02
ROUNDOFF_UPDATE_V = 1e-12


class StepFailure(RuntimeError):
    """A time step that could not be solved (the message says why)."""


@dataclass
class SolverOptions:
    """Time-stepping and Newton settings (seconds, volts, stoichiometry)."""

    dt_initial_s: float = 0.5
    dt_max_s: float = 200.0
    dt_min_s: float = 1e-3
    target_dx: float = 0.03
    target_dv: float = 0.02
    cutoff_tol_v: float = 2e-3
    newton_max_iter: int = 10
    linear: str = "auto"
    linear_rtol: float = 1e-7


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
        self.linear = LinearSolver(self.model.layout, kind=self.options.linear,
                                   rtol=self.options.linear_rtol)

    def newton(self, u_old: np.ndarray, guess: np.ndarray, dt_s: float) -> np.ndarray:
        """Solve one backward-Euler step; raises StepFailure."""
        lay = self.model.layout
        c_max = self.model.c_max
        u = guess.copy()
        scale = self.reference_current_a
        for _ in range(self.options.newton_max_iter):
            r, jac = self.model.residual(u, u_old, dt_s, self.current_a)
            self.counters.newton += 1
            if not np.all(np.isfinite(r)):
                raise StepFailure("non-finite residual")
            if self._converged(r, scale):
                return u
            try:
                du = self.linear.solve(jac, -r)
            except (np.linalg.LinAlgError, RuntimeError) as exc:
                raise StepFailure(f"linear solve failed: {exc}") from None
            dphi = np.abs(du[lay.potentials]).max(initial=0.0)
            if dphi < ROUNDOFF_UPDATE_V and np.all(np.abs(du[lay.c_s]) <= 1e-12 * c_max) \
                    and np.all(np.abs(du[lay.c_e]) <= 1e-12 * u[lay.c_e]):
                return u + du      # converged to the rounding floor of the residual
            alpha = min(1.0, MAX_POTENTIAL_UPDATE_V / dphi) if dphi > 0 else 1.0
            new = u + alpha * du
            # projected update: the distance of a concentration to its bound shrinks at most
            # by BOUND_APPROACH per iteration (i0 ~ sqrt(c_max - c_s) is steep near saturation)
            new[lay.c_s] = np.clip(new[lay.c_s], BOUND_APPROACH * u[lay.c_s],
                                   c_max - BOUND_APPROACH * (c_max - u[lay.c_s]))
            new[lay.c_e] = np.maximum(new[lay.c_e], BOUND_APPROACH * u[lay.c_e])
            u = new
        raise StepFailure(f"Newton did not converge in {self.options.newton_max_iter} iterations")

    def _converged(self, r: np.ndarray, scale: float) -> bool:
        """Every cell, and each block's total (what the conservation checks see), balanced to
        ``NEWTON_TOL`` of the reference current."""
        lay = self.model.layout
        if np.abs(r).max() > NEWTON_TOL * scale:
            return False
        sums = [r[b].sum() for b in (lay.phi_s, lay.phi_e, lay.c_s, lay.c_e)] + [r[lay.v]]
        return max(abs(x) for x in sums) <= NEWTON_TOL * scale

    def run(self, cutoff_v: float, t_end_s: float, start: StepRecord,
            on_step: Callable[[StepRecord, StepRecord, float], None] | None = None,
            dt_s: float | None = None) -> tuple[StepRecord, StepRecord, str]:
        """Discharge from ``start`` until the cut-off voltage or ``t_end_s``.

        ``on_step(previous, accepted, next_dt)`` is called after every accepted step. Returns
        the last two accepted steps (the cut-off lies between them) and the end reason.
        """
        opts = self.options
        lay = self.model.layout
        c_max = self.model.c_max
        before, last = start, start
        dt = dt_s or opts.dt_initial_s
        while True:
            dt = min(dt, opts.dt_max_s, t_end_s - last.t_s)
            guess = last.state
            if last is not before:
                # linear extrapolation of the last two states as Newton's start
                slope = (last.state - before.state) / (last.t_s - before.t_s)
                guess = last.state + dt * slope
                guess[lay.c_s] = np.clip(guess[lay.c_s], 0.5 * last.state[lay.c_s],
                                         c_max - 0.5 * (c_max - last.state[lay.c_s]))
                guess[lay.c_e] = np.maximum(guess[lay.c_e], 0.5 * last.state[lay.c_e])
            try:
                u = self.newton(last.state, guess, dt)
            except StepFailure as exc:
                self.counters.rejected += 1
                dt *= 0.5
                if dt < opts.dt_min_s:
                    return before, last, (f"stopped at V = {last.voltage_v:.4f} V: {exc} with steps "
                                          f"below {opts.dt_min_s:g} s (particle surfaces saturated)")
                continue
            v = float(u[lay.v])
            if v < cutoff_v - opts.cutoff_tol_v and dt > opts.dt_min_s:
                self.counters.rejected += 1
                frac = (last.voltage_v - cutoff_v) / max(last.voltage_v - v, 1e-12)
                dt = max(dt * min(max(frac, 0.05), 0.5), opts.dt_min_s)
                continue
            before, last = last, StepRecord(last.t_s + dt, v, u)
            self.counters.steps += 1
            dx = np.abs(u[lay.c_s] - before.state[lay.c_s]).max(initial=0.0) / c_max
            dv = abs(v - before.voltage_v)
            growth = min(opts.target_dx / max(dx, 1e-12), opts.target_dv / max(dv, 1e-12))
            dt = dt * float(np.clip(0.9 * growth, 0.5, 2.0))
            if on_step is not None:
                on_step(before, last, dt)
            if v <= cutoff_v:
                return before, last, "cut-off voltage reached"
            if last.t_s >= t_end_s - 1e-9:
                return before, last, "end time reached"
