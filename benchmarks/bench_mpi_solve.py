"""Benchmark: one Newton system solved by the PETSc backend on one process or on N MPI ranks.

    [mpiexec -n N] python benchmarks/bench_mpi_solve.py ELECTRODE [--repeats 10] [--dt-s 30]

Builds the model of ELECTRODE (.npz) with the default parameter set, takes the Newton system of
the first step of a 1C discharge (the initial state, a step of ``--dt-s``), solves it once with
a new preconditioner, then ``--repeats`` times reusing it (as a discharge does between
rebuilds). Rank 0 prints the assembly time (residual and Jacobian, replicated on every rank),
the setup + first solve, the Krylov iterations, and the fastest and median repeated solve;
every rank prints its peak RSS and, on N > 1 ranks, how many of its Jacobian nonzeros couple to
other ranks' unknowns and to how many of them (ghost columns). On a machine shared with other
jobs the fastest repeat is the least disturbed one.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from voxode.electrochem.grid import build_grid  # noqa: E402
from voxode.electrochem.linear import DEFAULT_RTOL, liquid_x  # noqa: E402
from voxode.electrochem.materials import load_parameters  # noqa: E402
from voxode.electrochem.model import Model  # noqa: E402
from voxode.electrochem.petsc_linear import (  # noqa: E402
    DistributedFieldSplitSolver,
    FieldSplitSolver,
)
from voxode.electrode import Electrode  # noqa: E402
from voxode.ranks import world_rank, world_size  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("electrode")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--dt-s", type=float, default=30.0)
    args = parser.parse_args()
    electrode = Electrode.load(args.electrode)
    params = load_parameters()
    model = Model(build_grid(electrode, params), params)
    current_a = electrode.nominal_capacity_mah_cm2 * 1e-3 * model.grid.area_m2 * 1e4
    u = model.initial_state()
    start = time.perf_counter()
    r = model.residual(u, u, args.dt_s, current_a)
    jac = model.jacobian()
    assembly_s = time.perf_counter() - start
    solver = (
        DistributedFieldSplitSolver(model.layout, DEFAULT_RTOL["petsc"], 500, liquid_x(model.grid))
        if world_size() > 1
        else FieldSplitSolver(model.layout, DEFAULT_RTOL["petsc"], 500)
    )
    start = time.perf_counter()
    _, iterations, _ = solver.solve(jac, -r, rebuild=True)
    first_s = time.perf_counter() - start
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        solver.solve(jac, -r, rebuild=False)
        times.append(time.perf_counter() - start)
    if world_rank() == 0:
        print(
            f"ranks {world_size()}: {model.layout.size} unknowns, assembly {assembly_s:.3f} s, "
            f"setup + solve {first_s:.3f} s, {iterations} Krylov iterations, solve fastest "
            f"{min(times):.3f} s, median {statistics.median(times):.3f} s",
            flush=True,
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    coupling = ""
    if world_size() > 1:
        first, last = solver._mat.getOwnershipRange()
        ghosts = solver._columns[(solver._columns < first) | (solver._columns >= last)]
        coupling = f", {ghosts.size} off-rank nonzeros, {np.unique(ghosts).size} ghost columns"
    print(f"rank {world_rank()}: peak RSS {peak_mib:.0f} MiB{coupling}", flush=True)


if __name__ == "__main__":
    main()
