"""One particle with slow solid diffusion: Li on its voxels vs in its sphere vs PyBaMM.

    python benchmarks/bench_particle_diffusion.py [--factor 0.1] [--voxels 1 0.5 0.25]
        [--c-rate 1] [--out particle-diffusion.json]

A sphere of radius 4.5 um in a 10 um box of electrolyte, touching the current collector, is
discharged at ``--c-rate`` (of its own capacity) to 3.0 V with ``--factor`` times O'Regan
2022's D_s(x) (set chen2020-oregan2022), once with ``active.solid_diffusion: voxels`` and once
with ``spheres``, at each voxel size; PyBaMM's DFN with 60 radial points on the same image's
effective properties is the reference. Prints and writes one row per voxel size (capacities
in mAh/cm^2, CPU seconds, largest conservation error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from voxode.electrochem.materials import load_parameters, with_values
from voxode.electrochem.pybamm_reference import dfn_half_cell, measured_properties
from voxode.electrochem.simulate import simulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_images import one_sphere  # noqa: E402

RADIUS_UM = 4.5
BOX_UM = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=0.1, help="factor on O'Regan's D_s(x)")
    parser.add_argument("--voxels", type=float, nargs="+", default=(1.0, 0.5, 0.25))
    parser.add_argument("--c-rate", type=float, default=1.0)
    parser.add_argument("--out", default="particle-diffusion.json")
    args = parser.parse_args()

    base = load_parameters("chen2020-oregan2022")
    voxels = with_values(
        base, {"active.diffusivity_m2_s": f"{args.factor}*({base.active.diffusivity_m2_s})"}
    )
    spheres = with_values(voxels, {"active.solid_diffusion": "spheres"})
    rows = []
    for voxel_um in args.voxels:
        electrode = one_sphere(
            round(BOX_UM / voxel_um), radius_vox=RADIUS_UM / voxel_um, voxel_um=voxel_um
        )
        row: dict[str, float] = {"voxel_um": voxel_um}
        for name, params in (("spheres", spheres), ("voxels", voxels)):
            started = time.process_time()
            run = simulate(electrode, c_rate=args.c_rate, params=params)
            row[f"{name}_mah_cm2"] = run.capacity_mah_cm2
            row[f"{name}_cpu_s"] = time.process_time() - started
            row[f"{name}_conservation"] = max(run.conservation.values())
            row["current_ma_cm2"] = run.current_ma_cm2
        props = measured_properties(electrode, run.grid, params=spheres)
        dfn = dfn_half_cell(spheres, props, row["current_ma_cm2"], mesh={"r_p": 60})
        row["pybamm_mah_cm2"] = float(dfn["capacity_mah_cm2"].iloc[-1])
        for name in ("spheres", "voxels"):
            row[f"{name}_vs_pybamm"] = row[f"{name}_mah_cm2"] / row["pybamm_mah_cm2"] - 1
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
