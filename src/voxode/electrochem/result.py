"""What a discharge writes: summary.json, voltage.csv, particles_sod.parquet, fields.npz, figures.

SOD of a particle = (x_mean - x_0) / (x_max - x_0) with x_max = 1 (fully lithiated); DoD =
delivered charge / charge at the end of discharge, so for a galvanostatic run DoD = t / t_end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from voxode.electrochem.simulate import Discharge  # noqa: E402
from voxode.io.atomic import write_atomic, write_text_atomic  # noqa: E402
from voxode.io.vtk import write_vti  # noqa: E402
from voxode.summary import electrode_summary  # noqa: E402

SOD_DODS = (25, 50, 75, 100)
FINE_DOD_STEP = 2


def particle_x_at(discharge: Discharge, dod: np.ndarray) -> np.ndarray:
    """[dod, particle] mean stoichiometry, linear in time between the accepted steps."""
    t = np.asarray(dod, dtype=float) * discharge.t_end_s
    x = discharge.particle_x
    return np.stack([np.array([np.interp(tk, discharge.t_s, x[:, k]) for tk in t])
                     for k in range(x.shape[1])], axis=1) if x.size else np.zeros((t.size, 0))


def sod(discharge: Discharge, x: np.ndarray) -> np.ndarray:
    x0 = discharge.params.active.x_initial
    return (x - x0) / (1.0 - x0)


def particle_table(discharge: Discharge) -> pd.DataFrame:
    """One row per particle: id, centroid depth and volume, mean x at every FINE_DOD_STEP % of
    DoD (``x_dod_000`` .. ``x_dod_100``) and SOD at DoD 25/50/75/100 % (``sod_025`` ..
    ``sod_100``)."""
    e = discharge.electrode
    ids = discharge.particle_ids
    flat = e.particle_ids.ravel()
    where = np.searchsorted(ids, flat[flat > 0])
    counts = np.bincount(where, minlength=ids.size)
    z = (np.bincount(where, (np.flatnonzero(flat > 0) % e.shape[2]).astype(float), ids.size)
         / np.maximum(counts, 1) + 0.5) * e.voxel_um
    table = pd.DataFrame({"id": ids, "centroid_z_um": z, "volume_um3": counts * e.voxel_um**3})
    fine = np.arange(0, 101, FINE_DOD_STEP)
    x_fine = particle_x_at(discharge, fine / 100.0)
    x_sod = particle_x_at(discharge, np.array(SOD_DODS) / 100.0)
    columns = {f"x_dod_{d:03d}": x_fine[k] for k, d in enumerate(fine)}
    columns |= {f"sod_{d:03d}": sod(discharge, x_sod[k]) for k, d in enumerate(SOD_DODS)}
    return pd.concat([table, pd.DataFrame(columns)], axis=1)


def final_fields(discharge: Discharge) -> dict[str, np.ndarray]:
    """End-of-discharge c_s, x_s, phi_s, c_e, phi_e on the electrode's grid (NaN where undefined)."""
    g, lay, u = discharge.grid, discharge.model.layout, discharge.final_state
    shape = discharge.electrode.shape

    def field(voxels: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = np.full(int(np.prod(shape)), np.nan, dtype=np.float32)
        out[voxels] = values
        return out.reshape(shape)

    n_e = g.liquid_voxel.size
    return {
        "c_s_mol_m3": field(g.nmc_voxel, u[lay.c_s]),
        "x_s": field(g.nmc_voxel, u[lay.c_s] / discharge.model.c_max),
        "phi_s_v": field(g.solid_voxel, u[lay.phi_s]),
        "c_e_mol_m3": field(g.liquid_voxel, u[lay.c_e][:n_e]),
        "phi_e_v": field(g.liquid_voxel, u[lay.phi_e][:n_e]),
    }


def summary(discharge: Discharge) -> dict[str, Any]:
    """JSON-ready summary of a discharge (units in the keys)."""
    info = electrode_summary(discharge.electrode)
    cap = discharge.capacity_mah_cm2
    lay = discharge.model.layout
    c = discharge.counters
    return {
        "capacity_mah_cm2": cap,
        "capacity_mah_g": cap / info["nmc_loading_mg_cm2"] * 1e3,
        "capacity_ah_l": cap / (discharge.electrode.thickness_um * 1e-4),
        "nominal_capacity_mah_cm2": discharge.current_ma_cm2 / discharge.c_rate,
        "c_rate": discharge.c_rate,
        "current_ma_cm2": discharge.current_ma_cm2,
        "cutoff_v": discharge.cutoff_v,
        "cutoff_reached": discharge.end_reason == "cut-off voltage reached",
        "end_reason": discharge.end_reason,
        "time_to_end_s": discharge.t_end_s,
        "start_voltage_v": float(discharge.voltage_v[0]),
        "end_voltage_v": float(discharge.voltage_v[-1]),
        "steps": c.steps,
        "rejected_steps": c.rejected,
        "newton_iterations": c.newton,
        "linear_iterations": discharge.linear_iterations,
        "linear_solver": discharge.linear_solver,
        "wall_s": discharge.wall_s,
        "conservation_relative_errors": discharge.conservation,
        "unknowns": lay.size,
        "voxel_um": discharge.electrode.voxel_um,
        "nmc_voxels_without_path": discharge.grid.disconnected_nmc_voxels,
        "parameters": discharge.params.name,
    }


def voltage_table(discharge: Discharge) -> pd.DataFrame:
    """t_s, voltage_v, capacity_mah_cm2 and capacity_mah_g at every accepted step."""
    loading = electrode_summary(discharge.electrode)["nmc_loading_mg_cm2"]
    capacity = discharge.current_ma_cm2 * discharge.t_s / 3600.0
    return pd.DataFrame({"t_s": discharge.t_s, "voltage_v": discharge.voltage_v,
                         "capacity_mah_cm2": capacity, "capacity_mah_g": capacity / loading * 1e3})


def write_outputs(discharge: Discharge, run_dir: Path, vtk: bool = False) -> dict[str, Any]:
    """Write every output of a discharge into ``run_dir`` (atomically) and return the summary."""
    run_dir.mkdir(parents=True, exist_ok=True)
    info = summary(discharge)
    voltage = voltage_table(discharge)
    write_atomic(run_dir / "voltage.csv", lambda p: voltage.to_csv(p, index=False))
    table = particle_table(discharge)
    write_atomic(run_dir / "particles_sod.parquet", lambda p: table.to_parquet(p, index=False))
    fields = final_fields(discharge)
    write_atomic(run_dir / "fields.npz", lambda p: np.savez_compressed(p, voxel_um=discharge.electrode.voxel_um, **fields))
    if vtk:
        write_vti(discharge.electrode, run_dir / "fields.vti", fields)
    plot_voltage(voltage, run_dir / "voltage.png", discharge.cutoff_v)
    plot_sod_depth(discharge, table, run_dir / "sod_depth.png")
    write_text_atomic(run_dir / "summary.json", json.dumps(info, indent=2) + "\n")
    return info


def plot_voltage(voltage: pd.DataFrame, path: Path, cutoff_v: float) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    ax.plot(voltage["capacity_mah_g"], voltage["voltage_v"], color="C0")
    ax.axhline(cutoff_v, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("capacity (mAh/g$_{NMC}$)")
    ax.set_ylabel("cell voltage vs Li/Li$^+$ (V)")
    top = ax.secondary_xaxis("top", functions=(lambda q: q * voltage["capacity_mah_cm2"].iloc[-1]
                                               / max(voltage["capacity_mah_g"].iloc[-1], 1e-12),
                                               lambda q: q * voltage["capacity_mah_g"].iloc[-1]
                                               / max(voltage["capacity_mah_cm2"].iloc[-1], 1e-12)))
    top.set_xlabel("capacity (mAh/cm$^2$)")
    write_atomic(path, lambda p: fig.savefig(p, dpi=200, format="png"))
    plt.close(fig)


def plot_voltage_curves(curves: dict[str, pd.DataFrame], path: Path, cutoff_v: float) -> None:
    """Voltage vs capacity (mAh/cm^2) of several discharges in one figure, e.g. the 3D model
    next to the DFN; each frame has columns capacity_mah_cm2 and voltage_v."""
    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    for k, (label, frame) in enumerate(curves.items()):
        ax.plot(frame["capacity_mah_cm2"], frame["voltage_v"], color=f"C{k}", label=label,
                ls="-" if k == 0 else "--")
    ax.axhline(cutoff_v, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("capacity (mAh/cm$^2$)")
    ax.set_ylabel("cell voltage vs Li/Li$^+$ (V)")
    ax.legend(frameon=False)
    write_atomic(path, lambda p: fig.savefig(p, dpi=200, format="png"))
    plt.close(fig)


def sod_depth_profile(table: pd.DataFrame, thickness_um: float, bin_um: float = 5.0) -> pd.DataFrame:
    """Volume-weighted mean SOD of the particles (a :func:`particle_table`, e.g. a saved
    particles_sod.parquet) in slabs of ``bin_um`` by centroid depth, over ``thickness_um``."""
    edges = np.arange(0.0, thickness_um + bin_um, bin_um)
    slab = np.clip(np.digitize(table["centroid_z_um"], edges) - 1, 0, edges.size - 2)
    w = table["volume_um3"].to_numpy()
    out = {"z_um": 0.5 * (edges[:-1] + edges[1:])}
    for d in SOD_DODS:
        num = np.bincount(slab, w * table[f"sod_{d:03d}"].to_numpy(), edges.size - 1)
        den = np.bincount(slab, w, edges.size - 1)
        out[f"sod_{d:03d}"] = np.where(den > 0, num / np.maximum(den, 1e-300), np.nan)
    return pd.DataFrame(out)


def plot_sod_depth(discharge: Discharge, table: pd.DataFrame, path: Path) -> None:
    prof = sod_depth_profile(table, discharge.electrode.thickness_um)
    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    for k, d in enumerate(SOD_DODS):
        ax.plot(prof["z_um"], prof[f"sod_{d:03d}"], marker="o", ms=3, color=plt.cm.viridis(k / 3), label=f"DoD {d} %")
    ax.set_xlabel("distance from the current collector (um)")
    ax.set_ylabel("mean particle SOD")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8)
    write_atomic(path, lambda p: fig.savefig(p, dpi=200, format="png"))
    plt.close(fig)
