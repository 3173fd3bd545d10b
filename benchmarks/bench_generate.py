"""Benchmark: time and peak memory of generating paper-pristine at 0.5 and 0.25 um.

Each case runs in a fresh subprocess (so peak RSS is that case's own), `--repeats` times;
the table gives the median wall time and the max peak resident memory.
Usage: python benchmarks/bench_generate.py [--repeats 3] [--voxels 0.5,0.25]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CASE = """
import json, resource, time
from voxode.recipe import load_preset
from voxode.generate import generate
recipe = load_preset("paper-pristine").with_overrides(voxel_um={voxel})
t0 = time.perf_counter()
e = generate(recipe)
dt = time.perf_counter() - t0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": dt, "peak_rss_mb": rss_mb, "shape": list(e.shape),
                   "particles": e.n_particles}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--voxels", default="0.5,0.25")
    args = parser.parse_args()
    print(
        f"{'voxel_um':>8} {'shape':>16} {'particles':>9} {'median_s':>9} "
        f"{'min_s':>7} {'peak_MB':>8}"
    )
    for voxel in (float(v) for v in args.voxels.split(",")):
        runs = [
            json.loads(
                subprocess.run(
                    [sys.executable, "-c", CASE.format(voxel=voxel)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(args.repeats)
        ]
        secs = [r["seconds"] for r in runs]
        print(
            f"{voxel:>8g} {'x'.join(map(str, runs[0]['shape'])):>16} "
            f"{runs[0]['particles']:>9} {statistics.median(secs):>9.2f} "
            f"{min(secs):>7.2f} {max(r['peak_rss_mb'] for r in runs):>8.0f}"
        )


if __name__ == "__main__":
    main()
