"""Benchmark: the cost of one Newton iteration outside the Krylov solver, residual and Jacobian.

    python benchmarks/bench_assembly.py ELECTRODE.npz [--params SET] [--minutes 10] [--calls 40]

Discharges a saved electrode (e.g. paper-pristine at 1.5 um, as written by ``voxode generate``)
at 1C for ``--minutes`` of cell time, then times at the state reached the residual with the
derivatives kept (what every Newton iteration computes) and the Jacobian assembled from them
(what every linear solve needs). CPU time per call, the best of three
rounds of ``--calls`` calls: the machine is shared, and the best round is the one least
disturbed. Runs against any checkout whose ``Model`` has ``residual`` and ``jacobian``
(``PYTHONPATH=<checkout>/src``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from voxode.electrochem.defaults import DEFAULT_PARAMETER_SET
from voxode.electrochem.simulate import simulate
from voxode.electrochem.solver import SolverOptions
from voxode.electrode import Electrode

ROUNDS = 3


def best_ms(fn: Callable[[], float], calls: int) -> float:
    """Least CPU time (ms) per call of ``fn`` over ``ROUNDS`` rounds of ``calls`` calls."""
    best = np.inf
    for _ in range(ROUNDS):
        spent = 0.0
        for _ in range(calls):
            spent += fn()
        best = min(best, spent / calls)
    return 1e3 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("electrode", help="electrode file (.npz)")
    parser.add_argument("--params", default=DEFAULT_PARAMETER_SET)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=10.0, help="cell time before timing")
    args = parser.parse_args()
    run = simulate(
        Electrode.load(args.electrode),
        c_rate=1.0,
        params=args.params,
        t_end_s=60.0 * args.minutes,
        options=SolverOptions(linear="petsc"),
    )
    model, u = run.model, run.final_state
    current_a = run.current_ma_cm2 * 1e-3 * model.grid.area_m2 * 1e4  # mA/cm^2 -> A for the box
    model.residual(u, u, 2.0, current_a)
    jac = model.jacobian()

    def residual() -> float:
        start = time.process_time()
        model.residual(u, u, 2.0, current_a)
        return time.process_time() - start

    def jacobian() -> float:
        model.residual(u, u, 2.0, current_a)
        start = time.process_time()
        model.jacobian()
        return time.process_time() - start

    result = {
        "electrode": args.electrode,
        "params": run.params.name,
        "t_s": run.t_end_s,
        "unknowns": int(model.layout.size),
        "nonzeros": int(jac.nnz),
        "residual_ms": best_ms(residual, args.calls),
        "jacobian_ms": best_ms(jacobian, args.calls),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
