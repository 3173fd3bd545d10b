"""One discharge on several MPI ranks (``voxode simulate --ranks N``, i.e. ``mpiexec -n N``):
the same result as on one process to the solver's tolerance, and bad requests stopped at the
door with one line and exit code 2, before anything is written."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from helpers import assert_outcome, invoke
from synthetic_images import sphere_packing
from voxode.electrochem import linear
from voxode.electrochem.simulate import simulate
from voxode.electrochem.solver import SolverOptions

# The 1- and 2-rank runs solve each Newton system to the same GMRES tolerance (1e-4) with
# different preconditioners (hypre's parallel coarsening and smoothing, SOR on each rank's
# rows), so they differ by what Newton leaves: its tolerance, a tenth of the step's error
# tolerance. Their capacities agreed to 2e-11; 1e-6 is the bound the LU and iterative backends
# are held to (test_simulate.py).
CAPACITY_RTOL = 1e-6
CONSERVATION_TOL = 1e-6
# Open MPI refuses to start as root (CI, containers) unless told twice
ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    """8 x 8 x 16 um^3 at 1 um: ~3.6k unknowns (the electrode of test_simulate.py)."""
    path = tmp_path_factory.mktemp("mpi") / "tiny.npz"
    sphere_packing(
        (8, 8, 16), voxel_um=1.0, radius_vox=(2.0, 3.5), nmc_fraction=0.5, cbd_fraction=0.1, seed=1
    ).save(path)
    return path


def needs_mpi() -> None:
    """Skip unless petsc4py imports and mpiexec is on PATH."""
    if not linear.petsc_available():
        pytest.skip("petsc4py is not installed (make test installs it where apt-get runs as root)")
    if shutil.which("mpiexec") is None:
        pytest.skip("mpiexec is not on PATH (Debian: openmpi-bin, installed with petsc-dev)")


@pytest.mark.slow
def test_two_ranks_give_the_one_rank_discharge(tiny_npz, tmp_path, monkeypatch):
    """``--ranks 2`` reruns the command under ``mpiexec -n 2``; the two processes run one
    discharge, rank 0 writes one run folder, and it holds the one-process capacity."""
    from voxode.electrode import Electrode

    needs_mpi()
    for name, value in ROOT_ENV.items():
        monkeypatch.setenv(name, value)
    one = simulate(Electrode.load(tiny_npz), c_rate=1.0, options=SolverOptions(linear="petsc"))
    run = tmp_path / "two"
    code, stderr = invoke(
        "simulate", tiny_npz, "-o", run, "--c-rate", "1", "--linear-solver", "petsc", "--ranks", 2
    )
    assert code == 0, stderr
    two = json.loads((run / "summary.json").read_text())
    assert two["ranks"] == 2 and one.ranks == 1
    assert two["linear_solver"] == "petsc" and two["end_reason"] == one.end.reason.value
    assert two["capacity_mah_cm2"] == pytest.approx(one.capacity_mah_cm2, rel=CAPACITY_RTOL)
    assert max(two["conservation_relative_errors"].values()) < CONSERVATION_TOL
    assert not (run / "failed.json").exists() and not (run / "checkpoint.npz").exists()


def test_bad_rank_requests_stop_in_one_line_before_anything_is_written(
    tiny_npz, tmp_path, monkeypatch
):
    """--ranks below 1, a linear solver that cannot be distributed, no mpiexec, no petsc4py:
    exit 2, one line, no run folder."""
    cases = [
        (("--ranks", 0), "at least 1"),
        (("--ranks", 2, "--linear-solver", "direct"), "needs the petsc linear solver"),
    ]
    for extra, message in cases:
        run = tmp_path / f"run{len(message)}"
        code, stderr = invoke("simulate", tiny_npz, "-o", run, "--c-rate", 1, *extra)
        assert code == 2 and message in stderr, stderr
        assert_outcome(code, stderr)
        assert not run.exists()
    run = tmp_path / "no-mpiexec"
    with monkeypatch.context() as patch:
        patch.setattr(shutil, "which", lambda _name: None)
        code, stderr = invoke("simulate", tiny_npz, "-o", run, "--c-rate", 1, "--ranks", 2)
    assert code == 2 and "needs mpiexec" in stderr, stderr
    assert_outcome(code, stderr)
    monkeypatch.setitem(sys.modules, "petsc4py", None)  # import petsc4py -> ImportError
    linear.petsc_available.cache_clear()
    try:
        code, stderr = invoke("simulate", tiny_npz, "-o", run, "--c-rate", 1, "--ranks", 2)
    finally:
        linear.petsc_available.cache_clear()
    assert code == 2 and "petsc4py" in stderr, stderr
    assert_outcome(code, stderr)
    assert not run.exists()


def test_under_mpiexec_rank_requests_must_agree_and_only_petsc_distributes(monkeypatch):
    """A process started by ``mpiexec -n 2`` takes "auto" as PETSc and refuses the direct and
    pyamg backends (they would repeat the whole solve on every rank)."""
    if not linear.petsc_available():
        pytest.skip("petsc4py is not installed (make test installs it where apt-get runs as root)")
    assert linear.resolve_kind("auto", 10, ranks=2) == "petsc"
    assert linear.resolve_kind("auto", 10) == "direct"
    for kind in ("direct", "pyamg"):
        with pytest.raises(linear.LinearSolverError, match="2 MPI ranks"):
            linear.resolve_kind(kind, 10, ranks=2)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    code, stderr = invoke("simulate", "missing.npz", "-o", "never", "--c-rate", 1, "--ranks", 3)
    assert code == 2 and "under mpiexec -n 2" in stderr, stderr
