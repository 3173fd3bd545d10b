"""Benchmark: 1C discharge of ``paper-pristine`` to 3.0 V, and PyBaMM's DFN on the same case.

    python benchmarks/bench_simulate.py [--voxel-um 1.0] [--c-rate 1] [--threads 2]
        [--linear-solver auto|petsc|pyamg] [--params SET] [--out DIR]

Generates the electrode at the given voxel size, runs the 3D simulation once (a run takes
minutes, so no repeats: the wall time is a single measurement), then the DFN half cell with
the effective properties measured on the same image. Progress (CPU time, simulated time,
voltage, capacity) goes to stderr after every step. Records steps, Newton and Krylov
iterations, wall and CPU time (the CPU time of this process is the number to compare on a
shared machine), peak memory (max RSS of this process), conservation errors, and the physics the
paper reports: particle SOD at the end vs depth, and the electrolyte concentration across
the thickness. Writes DIR/bench_simulate.json, the run folder DIR/run/ and DIR/dfn.png.
"""

from __future__ import annotations

import argparse
import os


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voxel-um", type=float, default=1.0)
    parser.add_argument("--c-rate", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2, help="threads for BLAS and numba")
    parser.add_argument("--linear-solver", default="auto", help="auto, direct, petsc or pyamg")
    parser.add_argument("--params", default=None, help="parameter set (name or YAML file)")
    parser.add_argument("--out", default="bench-simulate", help="output folder")
    return parser.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from voxode.electrochem.defaults import DEFAULT_PARAMETER_SET  # noqa: E402
from voxode.electrochem.plots import plot_voltage_curves  # noqa: E402
from voxode.electrochem.pybamm_reference import dfn_half_cell, measured_properties  # noqa: E402
from voxode.electrochem.result import depth_thirds, final_fields, voltage_table, write_outputs  # noqa: E402
from voxode.electrochem.simulate import simulate  # noqa: E402
from voxode.electrochem.solver import SolverOptions  # noqa: E402
from voxode.generate import generate  # noqa: E402
from voxode.recipe import load_preset  # noqa: E402


def main() -> None:
    out = Path(ARGS.out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = load_preset("paper-pristine").model_copy(update={"voxel_um": ARGS.voxel_um})
    electrode = generate(recipe)
    started, cpu_started = time.perf_counter(), time.process_time()

    def progress(t_s: float, voltage_v: float, capacity_mah_cm2: float) -> None:
        print(
            f"{time.process_time() - cpu_started:8.0f} s CPU  t = {t_s:7.0f} s  {voltage_v:.4f} V  "
            f"{capacity_mah_cm2:.3f} mAh/cm^2",
            file=sys.stderr,
            flush=True,
        )

    run = simulate(
        electrode,
        c_rate=ARGS.c_rate,
        params=ARGS.params or DEFAULT_PARAMETER_SET,
        options=SolverOptions(linear=ARGS.linear_solver),
        on_step=progress,
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    info = write_outputs(run, out / "run")

    fields = final_fields(run)
    z_um = electrode.z_centres_um()
    c_e = np.nanmean(fields["c_e_mol_m3"], axis=(0, 1))
    has_e = np.isfinite(c_e)
    physics = {
        "sod_end_by_third_collector_middle_separator": info[
            "sod_end_by_third_collector_middle_separator"
        ],
        "c_e_end_by_third_collector_middle_separator_mol_m3": depth_thirds(
            c_e[has_e], z_um[has_e], electrode.thickness_um
        ),
    }

    props = measured_properties(electrode, run.grid, params=run.params)
    dfn_started = time.perf_counter()
    dfn = dfn_half_cell(run.params, props, run.current_ma_cm2)
    dfn_wall = time.perf_counter() - dfn_started
    plot_voltage_curves(
        {"3D (voxode)": voltage_table(run), "DFN (PyBaMM)": dfn}, out / "dfn.png", run.cutoff_v
    )

    result = {
        "voxel_um": ARGS.voxel_um,
        "c_rate": run.c_rate,
        "shape": list(electrode.shape),
        "unknowns": int(run.model.layout.size),
        "threads": ARGS.threads,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "capacity_mah_cm2": info["capacity_mah_cm2"],
        "capacity_mah_g": info["capacity_mah_g"],
        "end_reason": run.end.reason.value,
        "steps": run.counters.steps,
        "rejected": run.counters.rejected,
        "newton_iterations": run.counters.newton,
        "linear_iterations": run.linear_iterations,
        "linear_solver": run.linear_solver,
        "conservation": run.conservation,
        "physics": physics,
        "dfn": {
            "wall_s": dfn_wall,
            "capacity_mah_cm2": float(dfn["capacity_mah_cm2"].iloc[-1]),
            "properties": props.__dict__,
        },
    }
    (out / "bench_simulate.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
