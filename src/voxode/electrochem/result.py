"""What a discharge writes: summary.json, voltage.csv, particles_sod.parquet, fields.npz, figures
(drawn by :mod:`voxode.electrochem.plots`).

The files of a run appear together, and only for a discharge that ended physically
(:attr:`~voxode.electrochem.solver.EndReason.physical`); a run that could not go on leaves
``failed.json`` (and its checkpoint) instead, so a folder never holds a half set of results
or the results of a failure.

SOD of a particle = (x_mean - x_0) / (x_max - x_0) with x_max = 1 (fully lithiated); DoD =
delivered charge / charge at the end of discharge, so for a galvanostatic run DoD = t / t_end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from voxode.atomic import staged_files, write_text_atomic
from voxode.errors import RunFailure, VoxodeError
from voxode.ranks import world_rank

if TYPE_CHECKING:
    from voxode.electrochem.simulate import Discharge
    from voxode.electrode import Electrode

SOD_DODS = (25, 50, 75, 100)
FINE_DOD_STEP = 2


@dataclass(frozen=True)
class RunFiles:
    """The files of a discharge's output folder (what :func:`write_outputs` writes), named once."""

    folder: Path

    @property
    def summary(self) -> Path:
        """summary.json: capacities, end reason, solver counters (:func:`summary`)."""
        return self.folder / "summary.json"

    @property
    def voltage(self) -> Path:
        """voltage.csv: t_s, voltage_v, capacity_mah_cm2, capacity_mah_g (:func:`voltage_table`)."""
        return self.folder / "voltage.csv"

    @property
    def particle_sod(self) -> Path:
        """particles_sod.parquet: id, centroid_z_um,
        volume_um3, x_dod_*, sod_* (:func:`particle_table`)."""
        return self.folder / "particles_sod.parquet"

    @property
    def fields(self) -> Path:
        """fields.npz: the end-of-discharge fields (:func:`final_fields`) and voxel_um."""
        return self.folder / "fields.npz"

    @property
    def fields_vtk(self) -> Path:
        """fields.vti: the same fields for ParaView (written on request)."""
        return self.folder / "fields.vti"

    @property
    def voltage_figure(self) -> Path:
        return self.folder / "voltage.png"

    @property
    def sod_depth_figure(self) -> Path:
        return self.folder / "sod_depth.png"

    @property
    def failed(self) -> Path:
        """failed.json: why a run could not go on (written instead of the results)."""
        return self.folder / "failed.json"

    def results(self) -> tuple[Path, ...]:
        """Every file a finished run writes (summary.json among them)."""
        return (
            self.summary,
            self.voltage,
            self.particle_sod,
            self.fields,
            self.fields_vtk,
            self.voltage_figure,
            self.sod_depth_figure,
        )


def particle_x_at(discharge: Discharge, dod: np.ndarray) -> np.ndarray:
    """[dod, particle] mean stoichiometry, linear in time between the accepted steps."""
    t = np.asarray(dod, dtype=float) * discharge.t_end_s
    x = discharge.particle_x
    return (
        np.stack(
            [
                np.array([np.interp(tk, discharge.t_s, x[:, k]) for tk in t])
                for k in range(x.shape[1])
            ],
            axis=1,
        )
        if x.size
        else np.zeros((t.size, 0))
    )


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
    z = (
        np.bincount(where, (np.flatnonzero(flat > 0) % e.shape[2]).astype(float), ids.size)
        / np.maximum(counts, 1)
        + 0.5
    ) * e.voxel_um
    table = pd.DataFrame({"id": ids, "centroid_z_um": z, "volume_um3": counts * e.voxel_um**3})
    fine = np.arange(0, 101, FINE_DOD_STEP)
    x_fine = particle_x_at(discharge, fine / 100.0)
    x_sod = particle_x_at(discharge, np.array(SOD_DODS) / 100.0)
    columns = {f"x_dod_{d:03d}": x_fine[k] for k, d in enumerate(fine)}
    columns |= {f"sod_{d:03d}": sod(discharge, x_sod[k]) for k, d in enumerate(SOD_DODS)}
    return pd.concat([table, pd.DataFrame(columns)], axis=1)


def final_fields(discharge: Discharge) -> dict[str, np.ndarray]:
    """End-of-discharge c_s, x_s, phi_s, c_e, phi_e on
    the electrode's grid (NaN where undefined)."""
    g, lay, u = discharge.grid, discharge.model.layout, discharge.final_state
    shape = discharge.electrode.shape

    def field(voxels: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = np.full(int(np.prod(shape)), np.nan, dtype=np.float32)
        out[voxels] = values
        return out.reshape(shape)

    n_e = g.liquid_voxel.size
    return {
        "c_s_mol_m3": field(g.nmc_voxel, u[lay.c_s][g.voxel_nmc]),
        "x_s": field(g.nmc_voxel, u[lay.c_s][g.voxel_nmc] / discharge.model.c_max),
        "phi_s_v": field(g.solid_voxel, u[lay.phi_s]),
        "c_e_mol_m3": field(g.liquid_voxel, u[lay.c_e][:n_e]),
        "phi_e_v": field(g.liquid_voxel, u[lay.phi_e][:n_e]),
    }


def depth_thirds(
    values: np.ndarray, depth_um: np.ndarray, thickness_um: float, weights: np.ndarray | None = None
) -> list[float | None]:
    """Weighted means of ``values`` in the collector, middle and separator thirds of the depth.

    Parameters
    ----------
    values : numpy.ndarray
        One value per item (a particle, a plane).
    depth_um : numpy.ndarray
        The items' distance from the current collector (um).
    thickness_um : float
        Electrode thickness (um).
    weights : numpy.ndarray, optional
        The items' weights (e.g. particle volumes in um^3); equal when omitted.

    Returns
    -------
    list of float or None
        The means in [0, L/3), [L/3, 2L/3), [2L/3, L], collector first; None for a third that
        holds no item.
    """
    values = np.asarray(values, dtype=float)
    band = np.clip((3 * np.asarray(depth_um) / thickness_um).astype(int), 0, 2)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    return [
        float(np.average(values[band == b], weights=w[band == b])) if np.any(band == b) else None
        for b in range(3)
    ]


def summary(discharge: Discharge, table: pd.DataFrame | None = None) -> dict[str, Any]:
    """JSON-ready summary of a discharge (units in the keys).

    Parameters
    ----------
    discharge : Discharge
        A finished discharge.
    table : pandas.DataFrame, optional
        Its :func:`particle_table`, when already computed.

    Returns
    -------
    dict
        Capacities (mAh/cm^2, mAh/g, Ah/L), end reason, solver counters, conservation errors,
        and the end-of-discharge particle SOD (volume-weighted, 0 to 1) in the collector,
        middle and separator thirds of the thickness: the thick-electrode gradient.
    """
    from voxode.electrochem.solver import EndReason

    if table is None:
        table = particle_table(discharge)
    cap = discharge.capacity_mah_cm2
    lay = discharge.model.layout
    c = discharge.counters
    return {
        "capacity_mah_cm2": cap,
        "capacity_mah_g": cap / discharge.electrode.nmc_loading_mg_cm2 * 1e3,
        "capacity_ah_l": cap / (discharge.electrode.thickness_um * 1e-4),
        "nominal_capacity_mah_cm2": discharge.current_ma_cm2 / discharge.c_rate,
        "c_rate": discharge.c_rate,
        "current_ma_cm2": discharge.current_ma_cm2,
        "cutoff_v": discharge.cutoff_v,
        "cutoff_reached": discharge.end.reason is EndReason.CUTOFF,
        "end_reason": discharge.end.reason.value,
        "ended_physically": discharge.end.reason.physical,
        "end": discharge.end.describe(),
        "time_to_end_s": discharge.t_end_s,
        "start_voltage_v": float(discharge.voltage_v[0]),
        "end_voltage_v": float(discharge.voltage_v[-1]),
        "steps": c.steps,
        "rejected_steps": c.rejected,
        "newton_iterations": c.newton,
        "linear_iterations": discharge.linear_iterations,
        "linear_solver": discharge.linear_solver,
        "wall_s": discharge.wall_s,
        "ranks": discharge.ranks,
        "conservation_relative_errors": discharge.conservation,
        "unknowns": lay.size,
        "voxel_um": discharge.electrode.voxel_um,
        "nmc_voxels_without_path": discharge.grid.disconnected_nmc_voxels,
        "parameters": discharge.params.name,
        "sod_end_by_third_collector_middle_separator": depth_thirds(
            table["sod_100"].to_numpy(),
            table["centroid_z_um"].to_numpy(),
            discharge.electrode.thickness_um,
            table["volume_um3"].to_numpy(),
        ),
    }


def voltage_table(discharge: Discharge) -> pd.DataFrame:
    """t_s, voltage_v, capacity_mah_cm2 and capacity_mah_g at every accepted step."""
    loading = discharge.electrode.nmc_loading_mg_cm2
    capacity = discharge.current_ma_cm2 * discharge.t_s / 3600.0
    return pd.DataFrame(
        {
            "t_s": discharge.t_s,
            "voltage_v": discharge.voltage_v,
            "capacity_mah_cm2": capacity,
            "capacity_mah_g": capacity / loading * 1e3,
        }
    )


def write_outputs(discharge: Discharge, run_dir: Path, vtk: bool = False) -> dict[str, Any]:
    """Write every output of a discharge into ``run_dir`` and return the summary.

    The files are written into a staging folder and moved into ``run_dir`` together, summary.json
    last, only when all were written; a stale ``failed.json`` is removed then.
    """
    from voxode.electrochem.plots import plot_sod_depth, plot_voltage
    from voxode.io.vtk import write_vti

    table = particle_table(discharge)
    info = summary(discharge, table)
    with staged_files(run_dir, last=RunFiles(run_dir).summary.name) as stage:
        files = RunFiles(stage)
        voltage = voltage_table(discharge)
        voltage.to_csv(files.voltage, index=False)
        table.to_parquet(files.particle_sod, index=False)
        fields = final_fields(discharge)
        np.savez_compressed(files.fields, voxel_um=discharge.electrode.voxel_um, **fields)
        if vtk:
            write_vti(discharge.electrode, files.fields_vtk, fields)
        plot_voltage(voltage, files.voltage_figure, discharge.cutoff_v)
        plot_sod_depth(
            sod_depth_profile(table, discharge.electrode.thickness_um), files.sod_depth_figure
        )
        files.summary.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    RunFiles(run_dir).failed.unlink(missing_ok=True)
    return info


def discharge_to_folder(
    electrode: Electrode, run_dir: Path, *, vtk: bool = False, **simulate_args: Any
) -> dict[str, Any]:
    """Simulate (resumably, checkpointing in ``run_dir``) and write the outputs; return the summary.

    ``simulate_args`` go to :func:`~voxode.electrochem.simulate.simulate`. Bad input raises
    before anything is written. A run that could not go on (no step, solver failure) or that
    raised writes ``failed.json`` (the reason, the end voltage and time) in place of the result
    files (an earlier run's are removed: the folder holds this run's outcome), then raises
    :class:`~voxode.errors.RunFailure` (or the original error). Under ``mpiexec`` only rank 0
    writes; the others return the same summary.

    Parameters
    ----------
    electrode : Electrode
        The electrode to discharge.
    run_dir : Path
        Run folder (resumes a killed run).
    vtk : bool
        Also write the final fields as fields.vti.
    **simulate_args
        Keyword arguments of :func:`~voxode.electrochem.simulate.simulate` (``c_rate`` in 1/h
        or ``current_ma_cm2``, ``cutoff_v`` in V, ``params``, ...).

    Returns
    -------
    dict
        The run's summary.json: capacities (mAh/cm^2, mAh/g, Ah/L), end reason, wall time (s).
    """
    from voxode.electrochem.simulate import CHECKPOINT_NAME, simulate

    writes = world_rank() == 0  # under mpiexec, the other ranks only compute
    try:
        discharge = simulate(electrode, run_dir=run_dir, **simulate_args)
        if not discharge.end.reason.physical:
            record = {
                "end_reason": discharge.end.reason.value,
                "end": discharge.end.describe(),
                "end_voltage_v": discharge.end.voltage_v,
                "time_s": discharge.end.t_s,
                "c_rate": discharge.c_rate,
                "current_ma_cm2": discharge.current_ma_cm2,
            }
            if writes:
                _write_failure(run_dir, record)
            raise RunFailure(f"the discharge could not go on: {discharge.end.describe()}", record)
        if not writes:
            return summary(discharge)
        info = write_outputs(discharge, run_dir, vtk=vtk)
        (run_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
        return info
    except (RunFailure, VoxodeError):
        raise
    except Exception as exc:
        if writes and run_dir.is_dir():
            _write_failure(
                run_dir, {"end_reason": "error", "error": f"{type(exc).__name__}: {exc}"}
            )
        raise


def _write_failure(run_dir: Path, record: dict[str, Any]) -> None:
    """failed.json in place of the results: those of an earlier run in this folder are removed."""
    files = RunFiles(run_dir)
    for path in files.results():
        path.unlink(missing_ok=True)
    write_text_atomic(files.failed, json.dumps(record, indent=2) + "\n")


def sod_depth_profile(
    table: pd.DataFrame, thickness_um: float, bin_um: float = 5.0
) -> pd.DataFrame:
    """Volume-weighted mean SOD of the particles (a :func:`particle_table`, e.g. a saved
    particles_sod.parquet) in slabs of ``bin_um`` by centroid depth, over ``thickness_um``.

    Parameters
    ----------
    table : pandas.DataFrame
        Per-particle SOD (a :func:`particle_table`).
    thickness_um : float
        Electrode thickness (um).
    bin_um : float
        Slab thickness (um).

    Returns
    -------
    pandas.DataFrame
        Per slab: its centre depth (um) and the volume-weighted mean SOD (0 to 1).
    """
    edges = np.arange(0.0, thickness_um + bin_um, bin_um)
    slab = np.clip(np.digitize(table["centroid_z_um"], edges) - 1, 0, edges.size - 2)
    w = table["volume_um3"].to_numpy()
    out = {"z_um": 0.5 * (edges[:-1] + edges[1:])}
    for d in SOD_DODS:
        num = np.bincount(slab, w * table[f"sod_{d:03d}"].to_numpy(), edges.size - 1)
        den = np.bincount(slab, w, edges.size - 1)
        out[f"sod_{d:03d}"] = np.where(den > 0, num / np.maximum(den, 1e-300), np.nan)
    return pd.DataFrame(out)
