"""Benchmark: how many seeds of the paper presets generate at each voxel size, and why the others do
not.

Each (seed, voxel, preset) is generated once, in this process, seed by seed (so a run stopped
early covers every voxel size and preset for its first seeds); one CSV row per case is appended as
it ends, and a rerun with the same --out skips the cases already recorded.
Usage: python benchmarks/bench_yield.py --out yield.csv [--voxels 1,0.75,1.5,0.5] [--seeds 1-30]
       [--presets paper-pristine,paper-bilayer,paper-bilayer-reverse]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from voxode.errors import VoxodeError
from voxode.generate import generate
from voxode.recipe import load_preset

FIELDS = [
    "voxel_um",
    "preset",
    "seed",
    "status",
    "seconds",
    "packing_retries",
    "throat_voxels_left_open",
    "error",
]


def seeds_of(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--voxels", default="1,0.75,1.5,0.5")
    parser.add_argument("--seeds", default="1-30")
    parser.add_argument("--presets", default="paper-pristine,paper-bilayer,paper-bilayer-reverse")
    args = parser.parse_args()
    done = set()
    if args.out.is_file():
        with args.out.open() as f:
            done = {(float(r["voxel_um"]), r["preset"], int(r["seed"])) for r in csv.DictReader(f)}
    new_file = not args.out.is_file()
    with args.out.open("a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if new_file:
            writer.writeheader()
        for seed in seeds_of(
            args.seeds
        ):  # seeds outermost: a run stopped early covers every voxel and preset
            for voxel in (float(v) for v in args.voxels.split(",")):
                for preset in args.presets.split(","):
                    if (voxel, preset, seed) in done:
                        continue
                    row = {"voxel_um": voxel, "preset": preset, "seed": seed}
                    t0 = time.perf_counter()
                    try:
                        e = generate(load_preset(preset).with_overrides(voxel_um=voxel, seed=seed))
                        retries = sum(a - 1 for a in e.provenance["packing_attempts"].values())
                        row |= {
                            "status": "ok",
                            "packing_retries": retries,
                            "throat_voxels_left_open": e.provenance["cbd_throat_voxels_left_open"],
                        }
                    except VoxodeError as exc:
                        row |= {"status": type(exc).__name__, "error": str(exc)}
                    row["seconds"] = round(time.perf_counter() - t0, 2)
                    writer.writerow(row)
                    f.flush()
                    print(row, flush=True)
    summarise(args.out)


def summarise(path: Path) -> None:
    """Per (voxel, preset): seeds ok / seeds tried, and each distinct error once."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault((r["voxel_um"], r["preset"]), []).append(r)
    print(f"{'voxel_um':>8} {'preset':<22} {'ok':>6} {'retried':>7} {'median_s':>8}  errors")
    for (voxel, preset), rs in sorted(groups.items()):
        ok = [r for r in rs if r["status"] == "ok"]
        retried = sum(int(r["packing_retries"]) > 0 for r in ok)
        secs = sorted(float(r["seconds"]) for r in rs)
        errors = sorted({r["error"] for r in rs if r["status"] != "ok"})
        print(
            f"{voxel:>8} {preset:<22} {len(ok):>3}/{len(rs):<2} {retried:>7} "
            f"{secs[len(secs) // 2]:>8.1f}  " + " | ".join(errors)
        )


if __name__ == "__main__":
    main()
