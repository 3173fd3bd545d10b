"""Benchmark: voxode's tortuosity engine vs TauFactor 2 (CPU), depth profile, characterization.

    python benchmarks/bench_characterize.py [--threads 2] [--repeats 3] [--out results.json]

Runs everything in one process with the same thread count for BLAS, numba and torch, on the
``paper-pristine`` electrode (60 x 60 x 300 voxels at 0.5 um). Prints medians of repeated runs.

Accuracy is measured against a reference solve converged to machine precision (voxode, rtol
1e-12; tests/test_tortuosity.py checks it against TauFactor converged tightly). Both codes use the
same conventions (Dirichlet on the outer faces, length N, total porosity), so taus are comparable.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for BLAS, numba and torch")
    parser.add_argument(
        "--repeats", type=int, default=3, help="repeats per timing (median reported)"
    )
    parser.add_argument("--out", default=None, help="also write the results as JSON to this path")
    return parser.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import json  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from timing import timed  # noqa: E402  (benchmarks/timing.py)

from voxode.characterize import characterization, depth_profile, electrode_fields, tortuosity  # noqa: E402
from voxode.characterize.transport import TransportFields  # noqa: E402
from voxode.electrode import Electrode  # noqa: E402


def load_electrode() -> Electrode:
    from voxode.generate import generate
    from voxode.recipe import load_preset

    return generate(load_preset("paper-pristine"))


def taufactor_run(img: np.ndarray, conv_crit: float) -> tuple[float, int]:
    import taufactor

    solver = taufactor.Solver(
        np.ascontiguousarray(np.moveaxis(img, 2, 0)).astype(np.uint8), device="cpu"
    )
    tau = solver.solve(verbose=False, conv_crit=conv_crit, iter_limit=100000)
    return float(np.asarray(tau).ravel()[0]), int(solver.iter)


def main() -> None:
    import torch

    torch.set_num_threads(ARGS.threads)
    rows: list[dict[str, Any]] = []
    electrode = load_electrode()
    name = "paper-pristine"
    fields = electrode_fields(electrode)
    pore = electrode.phases == 0
    print(
        f"electrode: {name}, {electrode.shape} voxels at {electrode.voxel_um} um, "
        f"threads {ARGS.threads}, repeats {ARGS.repeats}; torch {torch.__version__}"
    )
    tortuosity(fields)  # warm-up (numba compilation, imports)
    reference = tortuosity(fields, rtol=1e-12).tau

    def add(
        task: str, tool: str, seconds: float, tau: float | None = None, extra: str = ""
    ) -> None:
        err = None if tau is None else abs(tau - reference) / reference
        rows.append(
            {
                "task": task,
                "tool": tool,
                "seconds": seconds,
                "tau": tau,
                "rel_error": err,
                "note": extra,
            }
        )

    for crit in (1e-2, 1e-3):
        sec, (tau, iters) = timed(lambda c=crit: taufactor_run(pore, c), ARGS.repeats)
        add(
            "tau electrolyte, z",
            f"TauFactor 2 Solver conv_crit={crit:g}",
            sec,
            tau,
            f"{iters} SOR iterations",
        )
    for rtol in (1e-5, 1e-7):
        sec, res = timed(lambda r=rtol: tortuosity(fields, rtol=r), ARGS.repeats)
        add(
            "tau electrolyte, z",
            f"voxode tortuosity rtol={rtol:g}",
            sec,
            res.tau,
            f"{res.iterations} AMG-CG iterations",
        )

    depth_profile(
        TransportFields(fields.diffusivity[:, :, -8:], fields.liquid[:, :, -8:])
    )  # warm-up
    sec, prof = timed(lambda: depth_profile(fields, electrode.voxel_um), ARGS.repeats)
    planes = [0, 75, 150, 225, 299]
    slabs = [
        tortuosity(
            TransportFields(fields.diffusivity[:, :, k:], fields.liquid[:, :, k:]), rtol=1e-12
        ).tau
        for k in planes
    ]
    prof_err = max(abs(prof.tau[k] / s - 1.0) for k, s in zip(planes, slabs, strict=True))
    add(
        "depth profile electrolyte, 300 planes",
        "voxode depth_profile (exact Schur)",
        sec,
        prof.tau[0],
        f"max rel. diff. vs independent slab solves at planes {planes}: {prof_err:.1e}",
    )
    cbd_fields = electrode_fields(electrode, include_cbd=True)
    sec, prof_cbd = timed(lambda: depth_profile(cbd_fields, electrode.voxel_um), ARGS.repeats)
    rows.append(
        {
            "task": "depth profile electrolyte + CBD, 300 planes",
            "tool": "voxode depth_profile",
            "seconds": sec,
            "tau": prof_cbd.tau[0],
            "rel_error": None,
            "note": "",
        }
    )
    sec, result = timed(lambda: characterization(electrode), ARGS.repeats)
    rows.append(
        {
            "task": "characterize (all features, both profiles)",
            "tool": "voxode characterize",
            "seconds": sec,
            "tau": None,
            "rel_error": None,
            "note": f"{len(result.particles)} particles",
        }
    )

    print(f"reference tau (voxode, rtol 1e-12) = {reference:.8f}")
    print(f"{'task':<46} {'tool':<40} {'median s':>9} {'tau':>11} {'rel. err':>9}  note")
    for r in rows:
        tau = "" if r["tau"] is None else f"{r['tau']:.6f}"
        err = "" if r["rel_error"] is None else f"{r['rel_error']:.1e}"
        print(
            f"{r['task']:<46} {r['tool']:<40} {r['seconds']:>9.2f} {tau:>11} {err:>9}  {r['note']}"
        )
    if ARGS.out:
        from voxode.atomic import write_text_atomic

        meta = {
            "electrode": name,
            "shape": electrode.shape,
            "voxel_um": electrode.voxel_um,
            "threads": ARGS.threads,
            "repeats": ARGS.repeats,
            "reference_tau": reference,
        }
        write_text_atomic(ARGS.out, json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
