"""Benchmark: each stage's memory estimate against its measured peak RSS (paper-pristine).

Every (stage, voxel) runs in a fresh subprocess, so the peak resident set size is that stage's
own; the estimate is what the stage checks before it starts (voxode.resources). The simulate
case discharges at 1C to the cut-off (or for ``--simulate-s`` seconds of cell time): its peak
comes late in the discharge, where the Krylov solves take the most iterations and GMRES keeps
one vector per iteration (at 0.5 um the first 5 s peak at 3.1 GB, the whole discharge at
3.7 GB). A stage whose estimate exceeds the memory available is reported as refused, as the
CLI would refuse it.
Usage: python benchmarks/bench_memory.py [--voxels 1,0.5,0.25]
       [--stages generate,import,characterize,simulate]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

SETUP = """
from voxode.recipe import load_preset
from voxode.generate import generate
from voxode.io.tiff import write_tiff_stacks
e = generate(load_preset("paper-pristine").with_overrides(voxel_um={voxel}), force=True)
e.save({folder!r} + "/e.npz")
write_tiff_stacks(e, __import__("pathlib").Path({folder!r}) / "e")
"""

STAGE = """
import json, resource, sys
from pathlib import Path
from voxode.errors import VoxodeError
folder, stage, voxel, sim_s = Path({folder!r}), {stage!r}, {voxel}, {sim_s}
try:
    if stage == "generate":
        from voxode.generate import generate
        from voxode.generate.memory import estimate_memory
        from voxode.recipe import load_preset
        recipe = load_preset("paper-pristine").with_overrides(voxel_um=voxel)
        estimate = estimate_memory(recipe)
        generate(recipe)
    elif stage == "import":
        from voxode.io.importing import estimate_memory, import_tiff
        estimate = estimate_memory(folder / "e_phases.tif")
        import_tiff(folder / "e_phases.tif", voxel_um=voxel)
    else:
        from voxode.electrode import Electrode
        e = Electrode.load(folder / "e.npz")
        if stage == "characterize":
            from voxode.characterize.features import characterization, estimate_memory
            estimate = estimate_memory(e)
            characterization(e)
        else:
            from voxode.electrochem.materials import load_parameters
            from voxode.electrochem.simulate import estimate_memory, simulate
            estimate = estimate_memory(e, load_parameters("chen2020-nyman2008"))
            simulate(e, c_rate=1.0, t_end_s=sim_s)
    refused = ""
except VoxodeError as exc:
    refused = str(exc)
print(json.dumps({{"estimate": estimate.to_dict(), "refused": refused,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voxels", default="1,0.5,0.25")
    parser.add_argument("--stages", default="generate,import,characterize,simulate")
    parser.add_argument("--simulate-s", type=float, default=None, help="default: to the cut-off")
    args = parser.parse_args()
    stages = args.stages.split(",")
    print(
        f"{'stage':>12} {'voxel_um':>8} {'voxels':>10} {'unknowns':>10} {'estimate_MiB':>12} "
        f"{'peak_MiB':>9} {'error':>7}"
    )
    for voxel in (float(v) for v in args.voxels.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            if set(stages) - {"generate"}:
                subprocess.run(
                    [sys.executable, "-c", SETUP.format(voxel=voxel, folder=folder)], check=True
                )
            for stage in stages:
                code = STAGE.format(folder=folder, stage=stage, voxel=voxel, sim_s=args.simulate_s)
                run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"{stage:>12} {voxel:>8g} failed: {run.stderr.strip().splitlines()[-1]}")
                    continue
                r = json.loads(run.stdout.strip().splitlines()[-1])
                est, peak = r["estimate"], r["peak_rss_bytes"]
                if r["refused"]:
                    print(
                        f"{stage:>12} {voxel:>8g} {est['voxels']:>10} {est['unknowns']:>10} "
                        f"{est['bytes'] / 2**20:>12.0f} {'refused':>9}   ({r['refused']})"
                    )
                else:
                    print(
                        f"{stage:>12} {voxel:>8g} {est['voxels']:>10} {est['unknowns']:>10} "
                        f"{est['bytes'] / 2**20:>12.0f} {peak / 2**20:>9.0f} "
                        f"{100 * (est['bytes'] - peak) / peak:>+6.0f}%",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
