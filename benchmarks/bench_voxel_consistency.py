"""Benchmark: one seed at several voxel sizes against the finest: phase fractions, tortuosity, 1C
capacity.

For each (preset, seed, voxel) the electrode is generated and measured: phase fractions, the
effective transport numbers of ``voxode info --transport`` and, with --dfn, the 1C capacity
(8 mA/cm^2 to 3.0 V) of PyBaMM's DFN half cell on the properties measured on that image
(porosity, NMC fraction, reactive area, tortuosity with CBD, particle radius; see
voxode.electrochem.pybamm_reference). Rows go to --out (CSV); the table gives each voxel's
deviation from the finest voxel of the same seed.
Usage: python benchmarks/bench_voxel_consistency.py --out consistency.csv [--presets paper-pristine]
       [--seeds 1-3] [--voxels 0.5,0.75,1] [--dfn]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_yield import seeds_of

from voxode.characterize.effective import effective_transport
from voxode.electrode import CBD, NMC, PORE
from voxode.generate import generate
from voxode.recipe import load_preset

ONE_C_MA_CM2 = 8.0  # the paper's 1C
CUTOFF_V = 3.0


def dfn_capacity_mah_cm2(electrode) -> float:
    """1C capacity of the DFN half cell on the properties measured on ``electrode``."""
    from voxode.electrochem.grid import build_grid
    from voxode.electrochem.materials import load_parameters
    from voxode.electrochem.pybamm_reference import dfn_half_cell, measured_properties

    params = load_parameters()
    props = measured_properties(electrode, build_grid(electrode, params), params=params)
    return float(dfn_half_cell(params, props, ONE_C_MA_CM2, CUTOFF_V)["capacity_mah_cm2"].iloc[-1])


def measure(preset: str, seed: int, voxel: float, dfn: bool) -> dict:
    t0 = time.perf_counter()
    e = generate(load_preset(preset).with_overrides(voxel_um=voxel, seed=seed))
    row = {
        "preset": preset,
        "seed": seed,
        "voxel_um": voxel,
        "generate_s": time.perf_counter() - t0,
    }
    row |= {
        f"fraction_{name}": float(np.mean(e.phases == label))
        for name, label in (("pore", PORE), ("nmc", NMC), ("cbd", CBD))
    }
    row |= effective_transport(e)
    row |= {
        key: e.provenance.get(key, 0.0)
        for key in ("cbd_flux_weight", "cbd_throat_voxels_left_open")
    }
    if dfn:
        row["capacity_1c_dfn_mah_cm2"] = dfn_capacity_mah_cm2(e)
    return row


def deviations(frame: pd.DataFrame) -> pd.DataFrame:
    """Per row: fraction differences (points) and relative
    differences (%) from the finest voxel of its seed."""
    out = []
    for _, group in frame.groupby(["preset", "seed"]):
        ref = group.loc[group["voxel_um"].idxmin()]
        for _, row in group.iterrows():
            d = {"preset": row["preset"], "seed": row["seed"], "voxel_um": row["voxel_um"]}
            for name in ("pore", "nmc", "cbd"):
                d[f"d_{name}_points"] = 100.0 * (row[f"fraction_{name}"] - ref[f"fraction_{name}"])
            for key in ("tau_electrolyte", "tau_electrolyte_cbd", "capacity_1c_dfn_mah_cm2"):
                if key in row and pd.notna(row[key]) and pd.notna(ref[key]):
                    d[f"d_{key}_pct"] = 100.0 * (row[key] / ref[key] - 1.0)
            out.append(d)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--presets", default="paper-pristine")
    parser.add_argument("--seeds", default="1-3")
    parser.add_argument("--voxels", default="0.5,0.75,1")
    parser.add_argument("--dfn", action="store_true")
    args = parser.parse_args()
    rows = []
    for preset in args.presets.split(","):
        for seed in seeds_of(args.seeds):
            for voxel in (float(v) for v in args.voxels.split(",")):
                rows.append(measure(preset, seed, voxel, args.dfn))
                print(rows[-1], flush=True)
                pd.DataFrame(rows).to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(frame.round(4).to_string(index=False))
    dev = deviations(frame)
    print(dev.round(2).to_string(index=False))
    print("max |deviation| per voxel:")
    print(
        dev.drop(columns=["preset", "seed"])
        .abs()
        .groupby(dev["voxel_um"])
        .max()
        .round(2)
        .to_string()
    )


if __name__ == "__main__":
    main()
