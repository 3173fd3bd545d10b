"""`simulate`: a galvanostatic half-cell discharge of an Electrode, resumable from checkpoints.

The C-rate is relative to the nominal capacity at the recipe's specific capacity (the
electrode's NMC loading times each layer's mAh/g). Inputs are checked before any time step:
parameter set, electronic and ionic percolation, finite positive rate or current, a cut-off
inside the parameter set's range (:meth:`ParameterSet.cutoff_range_v`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voxode.atomic import write_atomic
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.electrochem.grid import Grid, build_grid, separator_layers_m
from voxode.electrochem.materials import (
    FARADAY_C_MOL,
    KINETIC_ALLOWANCE_V,
    ParameterSet,
    load_parameters,
)
from voxode.electrochem.model import Model
from voxode.electrochem.solver import (
    Counters,
    DischargeEnd,
    EndReason,
    SolverOptions,
    Stepper,
    StepRecord,
)
from voxode.electrode import CBD, NMC, PORE, Electrode
from voxode.errors import GridError, SimulationError
from voxode.options import check
from voxode.ranks import world_rank, world_size
from voxode.resources import MIB, MemoryEstimate, check_memory

CHECKPOINT_NAME = "checkpoint.npz"
# Fitted (least squares) to the peak RSS of whole 1C discharges of paper-pristine at 1, 0.75 and
# 0.5 um, within 2.5 % of each (benchmarks/bench_memory.py; benchmarks/README.md): the imports,
# PETSc included (fixed), then the residual, the Jacobian, the preconditioner hierarchies and the
# Krylov vectors (per unknown). The peak comes late in the discharge, where the Krylov solves
# take the most iterations: each GMRES iteration keeps one more vector.
FIXED_BYTES = 340 * MIB
BYTES_PER_UNKNOWN = 1400


@dataclass
class Discharge:
    """What a discharge produced; capacities are per electrode area unless named otherwise.

    Attributes
    ----------
    electrode : Electrode
        The discharged electrode.
    params : ParameterSet
        The parameter set.
    grid, model
        The finite-volume grid and the model assembled on it.
    current_ma_cm2 : float
        Current density (mA/cm^2).
    c_rate : float
        C-rate (1/h) vs the nominal capacity.
    cutoff_v : float
        Cut-off voltage (V).
    t_s, voltage_v : ndarray
        Accepted step times (s) and cell voltage (V).
    particle_ids : ndarray of int
        Ids of the particles whose mean stoichiometry is tracked.
    particle_x : ndarray, [step, particle]
        Mean stoichiometry (dimensionless).
    final_state : ndarray
        State at the end (interpolated to the cut-off).
    t_end_s : float
        End of the discharge (s); at the cut-off when it was reached.
    end : DischargeEnd
        How it ended (:class:`EndReason`, voltage, time).
    counters : Counters
        Steps, rejections, Newton iterations.
    linear_iterations : int
        Linear-solver iterations, all steps.
    linear_solver : str
        The backend that ran: direct, petsc or pyamg.
    wall_s : float
        Wall time (s).
    ranks : int
        MPI processes that ran the discharge together (``mpiexec -n``).
    conservation : dict of str to float
        Relative errors of Li inserted vs charge passed, salt content and interface current.
    """

    electrode: Electrode
    params: ParameterSet
    grid: Grid
    model: Model
    current_ma_cm2: float
    c_rate: float
    cutoff_v: float
    t_s: np.ndarray  # accepted step times
    voltage_v: np.ndarray
    particle_ids: np.ndarray  # ids of the particles whose mean stoichiometry is tracked
    particle_x: np.ndarray  # [step, particle] mean stoichiometry
    final_state: np.ndarray  # state at the end (interpolated to the cut-off)
    t_end_s: float  # end of the discharge (s); at the cut-off when it was reached
    end: DischargeEnd
    counters: Counters
    linear_iterations: int
    linear_solver: str  # the backend that ran: direct, petsc or pyamg
    wall_s: float
    ranks: int
    conservation: dict[str, float]

    @property
    def capacity_mah_cm2(self) -> float:
        return self.current_ma_cm2 * self.t_end_s / 3600.0


def _particle_means(grid: Grid, electrode: Electrode, c_max: float, x0: float):
    """A function state -> mean stoichiometry per particle
    id (voxels without unknowns stay at x0)."""
    ids_all = electrode.particle_ids.ravel()
    ids = np.unique(ids_all[ids_all > 0])
    total = np.bincount(ids_all, minlength=ids.max(initial=0) + 1).astype(float)
    voxels = grid.nmc_volume_m3 / grid.h_m**3  # volume of each NMC cell, in voxels
    tracked = np.bincount(grid.nmc_particle, weights=voxels, minlength=total.size)
    frozen = (total - tracked) * x0

    def means(c_s: np.ndarray) -> np.ndarray:
        x = np.bincount(grid.nmc_particle, weights=voxels * c_s / c_max, minlength=total.size)
        return (x + frozen)[ids] / total[ids]

    return ids, means


def estimate_memory(electrode: Electrode, params: ParameterSet) -> MemoryEstimate:
    """Expected peak resident memory of discharging ``electrode`` (before the grid is built).

    Unknowns are counted from the phases: phi_s on NMC and CBD voxels, c_s on NMC voxels, phi_e
    and c_e on pore and CBD voxels and on the separator's cells (an upper bound: cells the
    grid leaves out, e.g. isolated pores, are counted, and c_s in ``spheres`` has fewer cells
    than NMC voxels).

    Parameters
    ----------
    electrode : Electrode
        The electrode to discharge.
    params : ParameterSet
        The parameter set (its separator adds cells).

    Returns
    -------
    MemoryEstimate
        Unknowns and peak memory (bytes; ``to_dict()`` in GiB).
    """
    counts = np.bincount(electrode.phases.ravel(), minlength=3)
    n_nmc, n_cbd, n_pore = int(counts[NMC]), int(counts[CBD]), int(counts[PORE])
    separator = separator_layers_m(
        params.separator.thickness_um * 1e-6, electrode.voxel_um * 1e-6
    ).size
    n_liquid = n_pore + n_cbd + separator * electrode.shape[0] * electrode.shape[1]
    unknowns = (n_nmc + n_cbd) + n_nmc + 2 * n_liquid + 1
    return MemoryEstimate(
        "simulate", FIXED_BYTES + BYTES_PER_UNKNOWN * unknowns, electrode.phases.size, unknowns
    )


def run_key(
    electrode: Electrode,
    params: ParameterSet,
    current_ma_cm2: float,
    cutoff_v: float,
    options: SolverOptions,
) -> str:
    """Hash of everything that determines a run (a checkpoint resumes only the same run)."""
    digest = hashlib.sha256()
    for array in (electrode.phases, electrode.particle_ids):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(
        json.dumps(
            [
                electrode.voxel_um,
                [layer.to_dict() for layer in electrode.layers],
                params.model_dump(),
                current_ma_cm2,
                cutoff_v,
                options.__dict__,
            ],
            sort_keys=True,
            default=str,
        ).encode()
    )
    return digest.hexdigest()[:16]


def simulate(
    electrode: Electrode,
    *,
    c_rate: float | None = None,
    current_ma_cm2: float | None = None,
    cutoff_v: float = DEFAULT_CUTOFF_V,
    params: ParameterSet | str | Path = DEFAULT_PARAMETER_SET,
    t_end_s: float | None = None,
    options: SolverOptions | None = None,
    run_dir: Path | None = None,
    checkpoint_every_s: float = 180.0,
    on_step: Callable[[float, float, float], None] | None = None,
    force: bool = False,
) -> Discharge:
    """Discharge ``electrode`` at a C-rate or a current density (mA/cm^2) to ``cutoff_v``.

    ``t_end_s`` stops earlier (default: 1.5x the nominal time). With ``run_dir`` the run
    checkpoints there every ``checkpoint_every_s`` of wall time and resumes from a checkpoint
    of the same run; the checkpoint stays until the outputs are written
    (:func:`~voxode.electrochem.result.discharge_to_folder` removes it). Under ``mpiexec -n N``
    every process runs this function on the same input and the linear solves are distributed
    over them (:mod:`~voxode.electrochem.linear`); only rank 0 writes checkpoints, and the
    memory check counts N times the estimate (conservative: every process holds the
    whole grid and state, but only its own rows of the Jacobian).
    ``on_step(t_s, voltage_v, capacity_mah_cm2)`` reports progress. A discharge whose memory
    estimate (:func:`estimate_memory`) exceeds the memory available is refused unless ``force``.

    Parameters
    ----------
    electrode : Electrode
        The electrode to discharge.
    c_rate : float, optional
        C-rate (1/h) vs the nominal capacity; give this or ``current_ma_cm2``.
    current_ma_cm2 : float, optional
        Current density (mA/cm^2).
    cutoff_v : float
        Cut-off voltage (V vs Li/Li+).
    params : ParameterSet, str or Path
        Parameter set, or its name or YAML file.
    t_end_s : float, optional
        End time (s).
    options : SolverOptions, optional
        Time stepping, Newton and linear-solver settings.
    run_dir : Path, optional
        Folder for checkpoints (resumes a run).
    checkpoint_every_s : float
        Wall time (s) between checkpoints.
    on_step : callable, optional
        ``on_step(t_s, voltage_v, capacity_mah_cm2)`` after each step.
    force : bool
        Start even when the memory estimate exceeds the memory available.

    Returns
    -------
    Discharge
        Voltage (V) and capacity (mAh/cm^2) over time (s), per-particle lithiation, the final
        fields and how the discharge ended.
    """
    started = time.perf_counter()
    p = params if isinstance(params, ParameterSet) else load_parameters(params)
    options = options or SolverOptions()
    check(c_rate=c_rate, current_ma_cm2=current_ma_cm2, cutoff_v=cutoff_v, t_end_s=t_end_s)
    if (c_rate is None) == (current_ma_cm2 is None):
        raise SimulationError("give exactly one of c_rate and current_ma_cm2")
    lowest_v, u_start = p.cutoff_range_v()
    if cutoff_v >= u_start:
        raise SimulationError(
            f"cut-off {cutoff_v:g} V is not below the start voltage "
            f"{u_start:.4f} V (OCV at x = {p.active.x_initial:g})"
        )
    if cutoff_v < lowest_v:
        raise SimulationError(
            f"cut-off {cutoff_v:g} V is below {lowest_v:.3f} V, which no discharge with "
            f"parameter set {p.name} can reach (its lowest OCP less {KINETIC_ALLOWANCE_V:g} V)"
        )
    nominal = electrode.nominal_capacity_mah_cm2
    if current_ma_cm2 is None:
        current_ma_cm2 = float(c_rate) * nominal
    c_rate = current_ma_cm2 / nominal
    if current_ma_cm2 == 0 and t_end_s is None:
        raise SimulationError("a zero current (a rest) needs an end time t_end_s")
    ranks = world_size()
    estimate = estimate_memory(electrode, p)  # per process, an upper bound on each rank
    check_memory(replace(estimate, bytes=estimate.bytes * ranks), force, hint="use a coarser image")
    try:
        grid = build_grid(electrode, p)
    except GridError as exc:
        raise SimulationError(str(exc)) from None
    model = Model(grid, p)
    current_a = current_ma_cm2 * 1e-3 * grid.area_m2 * 1e4
    reference_a = max(current_a, nominal * 1e-3 * grid.area_m2 * 1e4)
    t_end = t_end_s if t_end_s is not None else 1.5 * 3600.0 / max(c_rate, 1e-12)
    stepper = Stepper(model, current_a, reference_a, options)
    ids, means = _particle_means(grid, electrode, model.c_max, p.active.x_initial)
    lay = model.layout

    key = run_key(electrode, p, current_ma_cm2, cutoff_v, options)
    initial = model.initial_state()
    times, volts, xs = [0.0], [float(initial[lay.v])], [means(initial[lay.c_s])]
    start, dt = StepRecord(0.0, volts[0], initial), None
    previous = None
    ckpt = None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt = run_dir / CHECKPOINT_NAME
    if ckpt is not None and ckpt.is_file():
        with np.load(ckpt) as data:
            if str(data["key"]) == key:
                times, volts = list(data["t_s"]), list(data["voltage_v"])
                xs = list(data["particle_x"])
                start = StepRecord(float(times[-1]), float(volts[-1]), data["state"].copy())
                previous = StepRecord(
                    float(times[-2]), float(volts[-2]), data["previous_state"].copy()
                )
                dt = float(data["dt_s"])
    last_save = [time.perf_counter()]
    saves = ckpt is not None and world_rank() == 0  # under mpiexec, rank 0 writes

    def record(before: StepRecord, now: StepRecord, next_dt: float) -> None:
        times.append(now.t_s)
        volts.append(now.voltage_v)
        xs.append(means(now.state[lay.c_s]))
        if on_step is not None:
            on_step(now.t_s, now.voltage_v, current_ma_cm2 * now.t_s / 3600.0)
        if saves and time.perf_counter() - last_save[0] > checkpoint_every_s:
            write_atomic(
                ckpt,
                lambda path: np.savez(
                    path,
                    key=key,
                    t_s=times,
                    voltage_v=volts,
                    particle_x=np.array(xs),
                    state=now.state,
                    previous_state=before.state,
                    dt_s=next_dt,
                ),
            )
            last_save[0] = time.perf_counter()

    before, last, end = stepper.run(
        cutoff_v, t_end, start, on_step=record, dt_s=dt, previous=previous
    )
    t_final, final = last.t_s, last.state
    if end.reason is EndReason.CUTOFF and last.voltage_v < cutoff_v < before.voltage_v:
        w = (before.voltage_v - cutoff_v) / (before.voltage_v - last.voltage_v)
        t_final = before.t_s + w * (last.t_s - before.t_s)
        final = before.state + w * (last.state - before.state)
    return Discharge(
        electrode=electrode,
        params=p,
        grid=grid,
        model=model,
        current_ma_cm2=current_ma_cm2,
        c_rate=c_rate,
        cutoff_v=cutoff_v,
        t_s=np.array(times),
        voltage_v=np.array(volts),
        particle_ids=ids,
        particle_x=np.array(xs),
        final_state=final,
        t_end_s=t_final,
        end=end,
        counters=stepper.counters,
        linear_iterations=stepper.linear.stats.iterations,
        linear_solver=stepper.linear.kind,
        wall_s=time.perf_counter() - started,
        ranks=ranks,
        conservation=conservation_errors(
            model, initial, last.state, current_a * last.t_s, current_a
        ),
    )


def conservation_errors(
    model: Model, initial: np.ndarray, state: np.ndarray, charge_c: float, current_a: float = 0.0
) -> dict[str, float]:
    """Relative errors of Li inserted vs charge passed, salt content, and the interface current
    balance (reactive and foil currents vs the collector current) at ``state``; ``current_a``
    (A) places the collector behind its contact resistance."""
    g, lay = model.grid, model.layout
    inserted = float((state[lay.c_s] - initial[lay.c_s]) @ g.nmc_volume_m3 * FARADAY_C_MOL)
    salt0 = float(initial[lay.c_e] @ g.liquid_volume_m3)
    salt = float(state[lay.c_e] @ g.liquid_volume_m3)
    reaction, foil = model.reaction_current(state)
    v_collector = model.collector_potential(state, current_a)
    collector = float(np.sum(g.collector.g * (state[lay.phi_s][g.collector.i] - v_collector)))
    scale = max(abs(collector), 1e-300)
    return {
        "lithium_inserted_vs_charge": abs(inserted - charge_c) / max(abs(charge_c), 1e-300)
        if charge_c
        else abs(inserted),
        "salt": abs(salt - salt0) / salt0,
        "interface_current_balance": abs(-reaction.sum() - collector) / scale
        if collector
        else abs(reaction.sum()),
        "foil_current_balance": abs(foil.sum() - collector) / scale
        if collector
        else abs(foil.sum()),
    }
