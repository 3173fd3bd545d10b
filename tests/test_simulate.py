"""The discharge simulator on a small synthetic electrode: equilibrium, conservation, the OCV
at low rate, end-of-discharge physics, outputs and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthetic_images import sphere_packing
from voxode.electrochem.materials import FARADAY_C_MOL, ParameterError, load_parameters
from voxode.electrochem.plots import plot_voltage_curves
from voxode.electrochem.result import (
    depth_thirds,
    discharge_to_folder,
    particle_table,
    voltage_table,
    write_outputs,
)
from voxode.electrochem.simulate import SimulationError, simulate
from voxode.electrochem.solver import EndReason
from voxode.electrode import NMC, PORE
from voxode.errors import InputError

CONSERVATION_TOL = 1e-6


@pytest.fixture(scope="module")
def tiny():
    """8 x 8 x 16 um^3 at 1 um: ~3.6k unknowns, solved with the direct solver."""
    return sphere_packing(
        (8, 8, 16), voxel_um=1.0, radius_vox=(2.0, 3.5), nmc_fraction=0.5, cbd_fraction=0.1, seed=1
    )


@pytest.fixture(scope="module")
def one_c(tiny):
    return simulate(tiny, c_rate=1.0)


def test_zero_current_keeps_the_equilibrium(tiny):
    d = simulate(tiny, current_ma_cm2=0.0, t_end_s=500.0)
    p = load_parameters()
    start = d.model.initial_state()
    assert np.abs(d.final_state - start).max() < 1e-9
    assert abs(d.voltage_v[-1] - p.ocp(p.active.x_initial)) < 1e-9


@pytest.mark.slow
def test_conservation_and_capacity_at_1c(one_c):
    errors = one_c.conservation
    assert set(errors) == {
        "lithium_inserted_vs_charge",
        "salt",
        "interface_current_balance",
        "foil_current_balance",
    }
    assert max(errors.values()) < CONSERVATION_TOL, errors
    assert 0.5 < one_c.capacity_mah_cm2 / one_c.electrode.nominal_capacity_mah_cm2 < 1.05
    assert np.all(np.diff(one_c.voltage_v) < 1e-6)  # a discharge: V never rises
    x = one_c.particle_x
    assert np.all(np.diff(x, axis=0) > -1e-12)  # particles only take up Li


@pytest.mark.slow
def test_low_rate_follows_the_ocv(tiny):
    d = simulate(tiny, c_rate=0.1)
    p = load_parameters()
    q = d.current_ma_cm2 * d.t_s / 3600.0
    # mean stoichiometry of the whole electrode from the charge passed (exact by conservation)
    nmc_voxels = np.count_nonzero(d.electrode.phases == NMC)
    c_per_voxel = (
        q * 1e-3 * 3600 * 1e4 * d.grid.area_m2 / (96485.33212 * nmc_voxels * d.grid.h_m**3)
    )
    x_mean = p.active.x_initial + c_per_voxel / p.active.c_max_mol_m3
    middle = (q > 0.1 * q[-1]) & (q < 0.9 * q[-1])
    gap = np.abs(d.voltage_v[middle] - p.ocp(x_mean[middle]))
    assert gap.max() < 0.010, gap.max()
    assert d.capacity_mah_cm2 / tiny.nominal_capacity_mah_cm2 > 0.95


@pytest.mark.slow
def test_outputs(one_c, tmp_path):
    info = write_outputs(one_c, tmp_path, vtk=True)
    for name in (
        "summary.json",
        "voltage.csv",
        "particles_sod.parquet",
        "fields.npz",
        "fields.vti",
        "voltage.png",
        "sod_depth.png",
    ):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["capacity_mah_cm2"] == pytest.approx(info["capacity_mah_cm2"])
    assert max(saved["conservation_relative_errors"].values()) < CONSERVATION_TOL
    voltage = pd.read_csv(tmp_path / "voltage.csv")
    assert list(voltage.columns) == ["t_s", "voltage_v", "capacity_mah_cm2", "capacity_mah_g"]
    table = particle_table(one_c)
    assert np.all(table["sod_100"] >= table["sod_025"])
    assert table["sod_100"].between(0, 1.0 + 1e-9).all()
    thirds = saved["sod_end_by_third_collector_middle_separator"]
    assert thirds == pytest.approx(
        depth_thirds(table["sod_100"], table["centroid_z_um"], 16.0, weights=table["volume_um3"])
    )
    assert min(thirds) >= 0.0 and max(thirds) <= 1.0 + 1e-9
    fields = np.load(tmp_path / "fields.npz")
    assert fields["c_s_mol_m3"].shape == one_c.electrode.shape
    assert np.isnan(fields["c_s_mol_m3"][one_c.electrode.phases == PORE]).all()


def test_depth_thirds():
    """Weighted means per third of the thickness, collector first; None for an empty third."""
    depth = np.array([1.0, 2.0, 5.0, 11.0, 12.0])
    values = np.array([0.2, 0.4, 0.5, 0.9, 1.0])
    assert depth_thirds(values, depth, 12.0) == pytest.approx([0.3, 0.5, 0.95])
    assert depth_thirds(values, depth, 12.0, weights=np.array([3, 1, 1, 1, 1])) == (
        pytest.approx([0.25, 0.5, 0.95])
    )
    assert depth_thirds(values[:2], depth[:2], 12.0) == [pytest.approx(0.3), None, None]


def test_bad_input_fails_before_time_stepping(tiny):
    with pytest.raises(SimulationError, match="cut-off"):
        simulate(tiny, c_rate=1.0, cutoff_v=4.4)
    with pytest.raises(ParameterError, match="unknown parameter set"):
        simulate(tiny, c_rate=1.0, params="no-such-set")
    with pytest.raises(InputError, match="--current-ma-cm2 -1.0"):
        simulate(tiny, current_ma_cm2=-1.0)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(InputError, match="finite"):
            simulate(tiny, c_rate=bad)
    with pytest.raises(SimulationError, match="rest"):
        simulate(tiny, current_ma_cm2=0.0)
    with pytest.raises(
        SimulationError, match="below 2.487 V"
    ):  # min OCP 3.487 V less the 1 V allowance
        simulate(tiny, c_rate=1.0, cutoff_v=1.0)
    blocked = tiny.phases.copy()
    blocked[:, :, 8] = NMC  # a dense NMC plane: no pore path to the collector
    ids = tiny.particle_ids.copy()
    with pytest.raises(SimulationError, match="electrolyte"):
        simulate(
            type(tiny)(
                blocked,
                np.where(blocked == NMC, np.maximum(ids, 0), 0),
                tiny.voxel_um,
                tiny.particles,
                tiny.layers,
            ),
            c_rate=1.0,
        )
    cut = tiny.phases.copy()
    cut[:, :, 0] = PORE  # nothing solid touches the current collector
    with pytest.raises(SimulationError, match="electronic path"):
        simulate(
            type(tiny)(
                cut, np.where(cut == NMC, ids, 0), tiny.voxel_um, tiny.particles, tiny.layers
            ),
            c_rate=1.0,
        )


@pytest.mark.slow
def test_against_pybamm_dfn_with_effective_properties_of_the_same_image(tiny, one_c, tmp_path):
    """Capacity within 5 % of PyBaMM's DFN half cell at C/10, and the same drop at 1C; both
    curves in one figure."""
    from voxode.electrochem.pybamm_reference import dfn_half_cell, measured_properties

    slow = simulate(tiny, c_rate=0.1)
    props = measured_properties(tiny, slow.grid)
    curves = {
        rate: dfn_half_cell(slow.params, props, run.current_ma_cm2)
        for rate, run in ((0.1, slow), (1.0, one_c))
    }
    dfn = {rate: curve["capacity_mah_cm2"].iloc[-1] for rate, curve in curves.items()}
    figure = tmp_path / "dfn.png"
    plot_voltage_curves(
        {"3D, C/10": voltage_table(slow), "DFN, C/10": curves[0.1]}, figure, slow.cutoff_v
    )
    assert figure.stat().st_size > 10_000
    assert abs(slow.capacity_mah_cm2 / dfn[0.1] - 1) < 0.05, (slow.capacity_mah_cm2, dfn)
    assert one_c.capacity_mah_cm2 < slow.capacity_mah_cm2 and dfn[1.0] < dfn[0.1]


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_checkpoint(tiny, one_c, tmp_path):
    """A run stopped after a few steps restarts from the checkpoint and ends where an
    uninterrupted run ends."""
    steps = []

    def kill_after_five(t_s: float, voltage_v: float, capacity: float) -> None:
        steps.append(t_s)
        if len(steps) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(
            tiny, c_rate=1.0, run_dir=tmp_path, checkpoint_every_s=0.0, on_step=kill_after_five
        )
    assert (tmp_path / "checkpoint.npz").is_file()
    resumed_from = []
    again = discharge_to_folder(
        tiny, tmp_path, c_rate=1.0, on_step=lambda t, v, q: resumed_from.append(t)
    )
    assert resumed_from[0] > steps[3]  # no step before the checkpoint is redone
    assert again["capacity_mah_cm2"] == pytest.approx(one_c.capacity_mah_cm2, rel=1e-6)
    assert not (tmp_path / "checkpoint.npz").exists()  # removed once the outputs are written
    assert (tmp_path / "summary.json").is_file()


def test_thick_electrode_at_high_rate_has_the_papers_gradients():
    """Through a thick electrode at a high rate, the particles near the separator end more
    lithiated than those near the current collector, and the electrolyte is depleted toward
    the collector (the trends the paper reports for paper-pristine at 1C)."""
    from voxode.electrochem.result import final_fields

    thick = sphere_packing(
        (6, 6, 60), voxel_um=1.0, radius_vox=(2.0, 3.5), nmc_fraction=0.5, cbd_fraction=0.1, seed=2
    )
    run = simulate(thick, c_rate=3.0)
    assert run.end.reason is EndReason.CUTOFF
    assert run.grid.disconnected_nmc_voxels == 0  # every particle can react
    table = particle_table(run)
    near_collector = table["centroid_z_um"] < 20.0
    near_separator = table["centroid_z_um"] > 40.0
    assert (
        table.loc[near_separator, "sod_100"].mean()
        > table.loc[near_collector, "sod_100"].mean() + 0.05
    )
    c_e = np.nanmean(final_fields(run)["c_e_mol_m3"], axis=(0, 1))
    assert np.nanmean(c_e[:20]) < np.nanmean(c_e[40:]) - 100.0


@pytest.mark.slow
def test_newton_tolerance_from_the_step_error_keeps_the_discharge(tiny, one_c, monkeypatch):
    """Newton stops once a row's residual leaves a state error below a tenth of the step's
    error tolerance (not at 1e-9 of the box current in every row): fewer Newton iterations,
    the same capacity as the strict criterion to 1e-6, the Li and salt totals exact, and the
    current balances (instantaneous, not corrected) within the 1e-7 the blocks are held to."""
    from voxode.electrochem import solver

    monkeypatch.setattr(solver, "NEWTON_ERROR_SHARE", 0.0)
    monkeypatch.setattr(solver, "BALANCE_TOL", solver.NEWTON_TOL)
    strict = simulate(tiny, c_rate=1.0)
    assert one_c.counters.newton < strict.counters.newton
    assert one_c.capacity_mah_cm2 == pytest.approx(strict.capacity_mah_cm2, rel=1e-6)
    assert np.abs(one_c.particle_x[-1] - strict.particle_x[-1]).max() < 1e-5
    errors = one_c.conservation
    assert errors["lithium_inserted_vs_charge"] < 1e-12 and errors["salt"] < 1e-12, errors
    assert errors["interface_current_balance"] < 1e-6, errors
    assert errors["foil_current_balance"] < 1e-6, errors


def test_no_step_is_cut_for_the_jump_at_the_switch_on(one_c):
    """At t = 0 the cell rests; the first step jumps the potentials to the loaded state. That
    jump is not a slope to extrapolate: the second step grows from the first (on paper-pristine
    at 1.5 um, extrapolating it cut the second step from 0.9 to 0.1 s and cost 5 steps)."""
    dt = np.diff(one_c.t_s[:3])
    assert dt[1] > dt[0], dt


def test_a_uniform_shift_of_the_potentials_restores_the_current_balances(one_c):
    """Newton's last iteration often fixes only the block totals (the net currents between
    the phases, at the collector and at the foil). Shifting phi_s, V and phi_e uniformly by
    the three values the Jacobian gives restores them to second order: from a converged state
    whose potentials are pushed off by 0.1-0.3 mV, the totals fall by three orders or more."""
    from voxode.electrochem.solver import Stepper

    model, lay = one_c.model, one_c.model.layout
    current_a = one_c.current_ma_cm2 * 1e-3 * one_c.grid.area_m2 * 1e4
    stepper = Stepper(model, current_a, current_a)
    u_old = model.initial_state()
    dt_s = 1.0
    u = stepper.newton(u_old, u_old.copy(), dt_s)
    u[lay.phi_s] += 1e-4
    u[lay.v] -= 2e-4
    u[lay.phi_e] += 3e-4

    def totals(state):
        r = model.residual(state, u_old, dt_s, current_a)
        return np.array([r[lay.phi_s].sum(), r[lay.v], r[lay.phi_e].sum()]), r

    before, r = totals(u)
    after, _ = totals(stepper._balance(u, r))
    assert np.abs(after).max() < 1e-3 * np.abs(before).max(), (before, after)


def test_the_invariant_correction_restores_li_and_salt_within_the_bounds(tiny):
    """The correction at a step's end puts back missing Li by filling every vacancy by the
    same share (so a nearly saturated cell stays below c_max), takes excess Li out in
    proportion to c_s, and rescales c_e to the old salt content."""
    from voxode.electrochem.grid import build_grid
    from voxode.electrochem.model import Model
    from voxode.electrochem.solver import Stepper

    p = load_parameters()
    model = Model(build_grid(tiny, p), p)
    lay, g = model.layout, model.grid
    current_a, dt_s = 1e-9, 10.0
    stepper = Stepper(model, current_a, current_a)
    old = model.initial_state()
    old[lay.c_s.start] = model.c_max * (1.0 - 1e-9)  # a saturated surface cell
    li_mol = current_a * dt_s / FARADAY_C_MOL
    for shift in (-1e-3, 1e-3):
        u = old.copy()
        u[lay.c_s.start + 1 : lay.c_s.stop] += (1.0 + shift) * li_mol / ((lay.n_nmc - 1) * g.h_m**3)
        u[lay.c_e] *= 1.0 + shift
        u = stepper._conserve(u, old, dt_s)
        inserted = (u[lay.c_s] - old[lay.c_s]).sum() * g.h_m**3
        assert inserted == pytest.approx(li_mol, rel=1e-9)
        salt = u[lay.c_e] @ g.liquid_volume_m3
        assert salt == pytest.approx(old[lay.c_e] @ g.liquid_volume_m3, rel=1e-14)
        assert np.all(u[lay.c_s] < model.c_max) and np.all(u[lay.c_s] > 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pyamg", "petsc"])
def test_the_iterative_solvers_give_the_direct_solvers_discharge(tiny, one_c, kind):
    """Both AMG-preconditioned GMRES backends (used above 8,000 unknowns: PETSc + hypre where
    petsc4py is installed, pyamg otherwise) converge Newton to the same solution as sparse LU:
    the same capacity and the same conservation. So PETSc and pyamg agree with each other to
    the same tolerance."""
    from voxode.electrochem.linear import petsc_available
    from voxode.electrochem.solver import SolverOptions

    if kind == "petsc" and not petsc_available():
        pytest.skip("petsc4py is not installed (make test installs it where apt-get runs as root)")
    iterative = simulate(tiny, c_rate=1.0, options=SolverOptions(linear=kind))
    assert iterative.linear_solver == kind and one_c.linear_solver == "direct"
    assert iterative.linear_iterations > 0 and one_c.linear_iterations == 0
    assert iterative.capacity_mah_cm2 == pytest.approx(one_c.capacity_mah_cm2, rel=1e-6)
    assert max(iterative.conservation.values()) < CONSERVATION_TOL, iterative.conservation
    assert np.abs(iterative.particle_x[-1] - one_c.particle_x[-1]).max() < 1e-5


def test_the_petsc_solver_sees_new_jacobian_values_in_its_shared_arrays(tiny):
    """The PETSc matrix shares its value array with the backend, which copies each new
    Jacobian into it: a second solve with other values of the same pattern (a step 100x
    shorter) solves that system, both with a rebuilt and with a reused preconditioner."""
    from voxode.electrochem.grid import build_grid
    from voxode.electrochem.linear import petsc_available
    from voxode.electrochem.model import Model

    if not petsc_available():
        pytest.skip("petsc4py is not installed (make test installs it where apt-get runs as root)")
    from voxode.electrochem.petsc_linear import FieldSplitSolver

    p = load_parameters()
    model = Model(build_grid(tiny, p), p)
    u = model.initial_state()
    solver = FieldSplitSolver(model.layout, rtol=1e-10, maxiter=500)
    for dt_s, rebuild in ((10.0, True), (0.1, False), (0.1, True)):
        r = model.residual(u, u, dt_s, 1e-9)
        jac = model.jacobian()
        du, _, converged = solver.solve(jac, -r, rebuild)
        assert converged
        assert np.abs(jac @ du + r).max() < 1e-6 * np.abs(r).max()


def test_without_petsc4py_auto_falls_back_to_pyamg_and_petsc_is_a_clean_error(
    tiny, monkeypatch, tmp_path
):
    """With petsc4py unimportable, "auto" picks pyamg above the direct limit (and the run
    says so), while an explicit PETSc request stops before any work with one line, exit 2."""
    import sys

    from voxode.electrochem import linear
    from voxode.electrochem.solver import SolverOptions

    monkeypatch.setitem(sys.modules, "petsc4py", None)  # import petsc4py -> ImportError
    linear.petsc_available.cache_clear()
    try:
        assert not linear.petsc_available()
        assert linear.resolve_kind("auto", linear.DIRECT_LIMIT + 1) == "pyamg"
        assert linear.resolve_kind("auto", linear.DIRECT_LIMIT) == "direct"
        with pytest.raises(linear.LinearSolverError, match="petsc4py"):
            simulate(tiny, c_rate=1.0, options=SolverOptions(linear="petsc"))
        monkeypatch.setattr(linear, "DIRECT_LIMIT", 100)
        run = simulate(tiny, c_rate=1.0, t_end_s=60.0)
        assert run.linear_solver == "pyamg" and run.linear_iterations > 0
    finally:
        linear.petsc_available.cache_clear()
    with pytest.raises(linear.LinearSolverError, match="one of auto, direct, petsc, pyamg"):
        linear.resolve_kind("umfpack", 10)


@pytest.mark.slow
def test_the_cli_names_the_linear_solver_it_ran(tiny, tmp_path):
    """``--linear-solver`` reaches the run and summary.json records the backend; an unknown
    one is a one-line error, exit 2, with nothing written."""
    from test_cli import assert_clean_error, run

    path = tmp_path / "tiny.npz"
    tiny.save(path)
    bad = run(
        "simulate",
        str(path),
        "--c-rate",
        "1",
        "--linear-solver",
        "umfpack",
        "-o",
        str(tmp_path / "bad"),
    )
    assert_clean_error(bad, "linear solver")
    assert not (tmp_path / "bad").exists()
    ok = run(
        "simulate",
        str(path),
        "--c-rate",
        "1",
        "--linear-solver",
        "pyamg",
        "--json",
        "-o",
        str(tmp_path / "run"),
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["linear_solver"] == "pyamg"
