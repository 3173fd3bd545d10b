"""Voxel refinement: one microstructure defined in micrometres, voxelised at 1, 0.5 and 0.25 um,
discharged at 1C to 3.0 V; the capacities must converge.

    python benchmarks/bench_refinement.py [--box-um 8 8 16] [--voxels 1 0.5 0.25]
        [--params SET] [--out DIR]

The geometry is resolution-free: NMC spheres (centres and radii in um; a point belongs to
the sphere with the smallest scaled distance |x - c| / r), and CBD where a smooth random field
(a few Fourier modes with wavelengths of micrometres) is high within ``--cbd-shell-um`` of a
particle surface. Each voxel takes the phase at its centre, so finer grids see the same shapes
with less staircase. Writes DIR/refinement.json and prints the capacity differences.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from voxode.electrochem.defaults import DEFAULT_PARAMETER_SET
from voxode.electrochem.simulate import simulate
from voxode.electrode import CBD, NMC, PORE, Electrode, Layer


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--box-um", type=float, nargs=3, default=(8.0, 8.0, 16.0))
    parser.add_argument(
        "--voxels", type=float, nargs="+", default=(1.0, 0.5, 0.25), help="voxel sizes (um)"
    )
    parser.add_argument("--radius-um", type=float, nargs=2, default=(2.0, 3.5))
    parser.add_argument(
        "--nmc-fraction", type=float, default=0.5, help="target NMC volume fraction"
    )
    parser.add_argument("--cbd-shell-um", type=float, default=1.0)
    parser.add_argument(
        "--cbd-share", type=float, default=0.4, help="share of the shell that is CBD"
    )
    parser.add_argument("--c-rate", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--params", default=DEFAULT_PARAMETER_SET, help="parameter set (name or YAML file)"
    )
    parser.add_argument("--out", default="bench-refinement")
    return parser.parse_args()


def spheres(
    box_um: np.ndarray, radius_um: tuple[float, float], fraction: float, rng: np.random.Generator
):
    """Random sphere centres and radii (um) until their summed volume reaches ``fraction`` of the
    box (overlaps make the realised fraction somewhat lower)."""
    centres, radii = [], []
    while sum(4 / 3 * np.pi * r**3 for r in radii) < fraction * np.prod(box_um) * 1.15:
        radii.append(rng.uniform(*radius_um))
        centres.append(rng.uniform(0.0, 1.0, 3) * box_um)
    return np.array(centres), np.array(radii)


def smooth_field(
    points_um: np.ndarray, rng: np.random.Generator, modes: int = 12, wavelength_um: float = 3.0
):
    """A smooth random field: a sum of cosines with random directions and phases."""
    k = rng.standard_normal((modes, 3))
    k *= 2 * np.pi / wavelength_um / np.linalg.norm(k, axis=1, keepdims=True)
    phase = rng.uniform(0, 2 * np.pi, modes)
    return np.cos(points_um @ k.T + phase).sum(axis=1)


def voxelise(box_um: np.ndarray, voxel_um: float, args: argparse.Namespace) -> Electrode:
    """The electrode at ``voxel_um`` (same random geometry for every voxel size)."""
    rng = np.random.default_rng(args.seed)
    centres, radii = spheres(box_um, tuple(args.radius_um), args.nmc_fraction, rng)
    shape = tuple(int(round(b / voxel_um)) for b in box_um)
    axes = [(np.arange(n) + 0.5) * voxel_um for n in shape]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    scaled = np.full(points.shape[0], np.inf)
    owner = np.zeros(points.shape[0], dtype=np.int32)
    gap = np.full(points.shape[0], np.inf)  # distance to the nearest sphere surface (um)
    for n, (c, r) in enumerate(zip(centres, radii, strict=True), start=1):
        d = np.linalg.norm(points - c, axis=1)
        s = d / r
        win = (s < 1.0) & (s < scaled)
        scaled[win], owner[win] = s[win], n
        gap = np.minimum(gap, np.abs(d - r))
    field = smooth_field(points, rng)
    phases = np.full(points.shape[0], PORE, dtype=np.uint8)
    phases[owner > 0] = NMC
    shell = (owner == 0) & (gap < args.cbd_shell_um)
    cut = np.quantile(field[shell], 1.0 - args.cbd_share)
    phases[shell & (field >= cut)] = CBD
    ids = _largest_pieces(owner.reshape(shape))
    phases = phases.reshape(shape)
    phases[(phases == NMC) & (ids == 0)] = PORE
    present = np.unique(ids[ids > 0])
    return Electrode(
        phases=phases,
        particle_ids=ids,
        voxel_um=voxel_um,
        particles=pd.DataFrame({"id": present, "layer": 0, "population": "refinement"}),
        layers=[Layer("all", 0.0, float(box_um[2]))],
        provenance={"source": "benchmarks/bench_refinement.py", "seed": args.seed},
    )


def _largest_pieces(ids: np.ndarray) -> np.ndarray:
    """Each sphere keeps its largest 6-connected piece (others become pore); ids kept."""
    out = np.zeros_like(ids)
    for pid, sl in enumerate(ndimage.find_objects(ids), start=1):
        if sl is None:
            continue
        pieces, count = ndimage.label(ids[sl] == pid)
        if count:
            keep = np.argmax(np.bincount(pieces.ravel())[1:]) + 1
            out[sl][pieces == keep] = pid
    return out


def main() -> None:
    args = _parse()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    box = np.array(args.box_um)
    rows = []
    for h in args.voxels:
        electrode = voxelise(box, h, args)
        started = time.perf_counter()
        run = simulate(electrode, c_rate=args.c_rate, params=args.params)
        rows.append(
            {
                "voxel_um": h,
                "shape": list(electrode.shape),
                "unknowns": int(run.model.layout.size),
                "nmc_fraction": float(np.mean(electrode.phases == NMC)),
                "nominal_mah_cm2": run.current_ma_cm2 / run.c_rate,
                "capacity_mah_cm2": run.capacity_mah_cm2,
                "utilisation": run.capacity_mah_cm2 * run.c_rate / run.current_ma_cm2,
                "end_reason": run.end.reason.value,
                "wall_s": time.perf_counter() - started,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    for a, b in zip(rows, rows[1:], strict=False):
        b["utilisation_change_vs_coarser"] = b["utilisation"] / a["utilisation"] - 1
    (out / "refinement.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
