"""Galvanostatic discharge: adaptive backward Euler with a damped Newton solve per step.

A step is rejected and retried with half the step when Newton fails (non-finite residual, too
many iterations, a linear solve that does not converge). Newton updates are projected so that
c_s stays in (0, c_max) and c_e > 0.

Step size: the local truncation error of backward Euler is estimated from the gap between
the solution and the linear extrapolation of the two previous states (the Newton start),
err = dt / (dt + dt_prev) |u - u_pred|, in the largest local stoichiometry change and in the
voltage. A step whose error exceeds twice its tolerance is redone shorter; otherwise the next
step is 0.9 dt (tol / err)^(1/2), within [0.5, 2] dt. The first step, without history, is
kept and the next one is 1.8 times longer. The step that crosses the cut-off voltage is shortened until it lands within
``cutoff_tol_v`` of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voxode.electrochem.linear import LinearSolver
from voxode.electrochem.model import Model

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
    dt_max_s: float = 300.0
    dt_min_s: float = 1e-3
    tol_x: float = 2e-3            # local error in stoichiometry per step
    tol_v: float = 2e-3            # local error in voltage per step (V)
    cutoff_tol_v: float = 2e-3
    newton_max_iter: int = 10
    linear: str = "auto"            # linear solver: auto, direct, petsc or pyamg (see linear)
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
        self.linear = LinearSolver(self.model.layout, kind=self.options.linear,
                                   rtol=self.options.linear_rtol)

    def newton(self, u_old: np.ndarray, guess: np.ndarray, dt_s: float) -> np.ndarray:
        """Solve one backward-Euler step; raises StepFailure."""
        lay = self.model.layout
        c_max = self.model.c_max
        u = guess.copy()
        scale = self.reference_current_a
        for _ in range(self.options.newton_max_iter):
            r = self.model.residual(u, u_old, dt_s, self.current_a)
            self.counters.newton += 1
            if not np.all(np.isfinite(r)):
                raise StepFailure("non-finite residual")
            if self._converged(r, scale):
                return u
            try:
                du = self.linear.solve(self.model.jacobian(), -r)
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

    def _error_ratio(self, u: np.ndarray, predicted: np.ndarray, dt_s: float, dt_prev_s: float) -> float:
        """Estimated local error of the step over its tolerance (stoichiometry and voltage)."""
        lay, opts = self.model.layout, self.options
        w = dt_s / (dt_s + dt_prev_s)
        err_x = w * np.abs(u[lay.c_s] - predicted[lay.c_s]).max(initial=0.0) / self.model.c_max
        err_v = w * abs(u[lay.v] - predicted[lay.v])
        return max(err_x / opts.tol_x, err_v / opts.tol_v)

    def run(self, cutoff_v: float, t_end_s: float, start: StepRecord,
            on_step: Callable[[StepRecord, StepRecord, float], None] | None = None,
            dt_s: float | None = None, previous: StepRecord | None = None
            ) -> tuple[StepRecord, StepRecord, str]:
        """Discharge from ``start`` until the cut-off voltage or ``t_end_s``; ``previous``,
        the step before ``start`` (on a resume), gives the predictor its history.

        ``on_step(previous, accepted, next_dt)`` is called after every accepted step. Returns
        the last two accepted steps (the cut-off lies between them) and the end reason.
        """
        opts = self.options
        lay = self.model.layout
        c_max = self.model.c_max
        before, last = previous or start, start
        dt = dt_s or opts.dt_initial_s
        while True:
            dt = min(dt, opts.dt_max_s, t_end_s - last.t_s)
            guess = predicted = last.state
            if last is not before:
                # linear extrapolation of the last two states: Newton's start and the error gauge
                slope = (last.state - before.state) / (last.t_s - before.t_s)
                predicted = last.state + dt * slope
                guess = predicted.copy()
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
            ratio = self._error_ratio(u, predicted, dt, last.t_s - before.t_s) \
                if last is not before else 0.25
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
                return before, last, "cut-off voltage reached"
            if last.t_s >= t_end_s - 1e-9:
                return before, last, "end time reached"
