"""Commands of the electrochemical stage: ``simulate`` and ``calibrate``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from voxode.cli.options import (
    DEFAULT_CUTOFF_V,
    DEFAULT_PARAMETER_SET,
    AsJson,
    CutoffV,
    Force,
    LinearSolver,
    Params,
    Quiet,
)
from voxode.cli.output import err, out, print_json, progress_bar, stages


def simulate(
    electrode: Annotated[Path, typer.Argument(help="Electrode file (.npz).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Run folder to write (resumes a killed run).")
    ],
    c_rate: Annotated[
        float | None, typer.Option("--c-rate", help="C-rate vs the nominal capacity.")
    ] = None,
    current_ma_cm2: Annotated[
        float | None, typer.Option("--current-ma-cm2", help="Current density (mA/cm^2).")
    ] = None,
    cutoff_v: CutoffV = DEFAULT_CUTOFF_V,
    params: Params = DEFAULT_PARAMETER_SET,
    linear_solver: LinearSolver = "auto",
    vtk: Annotated[
        bool, typer.Option("--vtk", help="Also write the final fields as fields.vti.")
    ] = False,
    force: Force = False,
    ranks: Annotated[
        int,
        typer.Option(
            "--ranks",
            help="MPI processes that run the discharge together (runs this command under "
            "mpiexec -n RANKS; needs PETSc). Each holds the whole model: memory grows with it.",
        ),
    ] = 1,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Discharge an electrode in a Li half cell (galvanostatic, to the cut-off voltage).

    Under ``mpiexec -n N`` (or with ``--ranks N``) the N processes run one discharge, the linear
    solves distributed with PETSc; rank 0 prints and writes.
    """
    from voxode.electrochem.result import discharge_to_folder
    from voxode.electrochem.solver import EndReason, SolverOptions
    from voxode.electrode import Electrode
    from voxode.errors import SimulationError
    from voxode.ranks import world_rank

    if (c_rate is None) == (current_ma_cm2 is None):
        raise SimulationError("give exactly one of --c-rate and --current-ma-cm2")
    command = _mpi_command(ranks, linear_solver)
    if command is not None:
        raise typer.Exit(subprocess.run(command, env=_rank_environment(), check=False).returncode)
    if world_rank() > 0:
        quiet, as_json = True, False
    e = Electrode.load(electrode)
    nominal = e.nominal_capacity_mah_cm2
    with progress_bar("discharging", "{task.fields[status]}", quiet=quiet) as bar:
        task = bar.add_task("discharge", total=nominal, status="")

        def report(t_s: float, voltage_v: float, capacity: float) -> None:
            bar.update(
                task,
                completed=min(capacity, nominal),
                status=f"{capacity:.3f} mAh/cm^2  {voltage_v:.3f} V  t = {t_s:.0f} s",
            )

        summary = discharge_to_folder(
            e,
            output,
            vtk=vtk,
            c_rate=c_rate,
            current_ma_cm2=current_ma_cm2,
            cutoff_v=cutoff_v,
            params=params,
            options=SolverOptions(linear=linear_solver),
            on_step=report,
            force=force,
        ) | {"output": str(output)}
    if summary["end_reason"] != EndReason.CUTOFF.value and world_rank() == 0:
        err.print(
            f"[yellow]warning:[/] the cut-off {cutoff_v:g} V was not reached: {summary['end']}",
            highlight=False,
            soft_wrap=True,
        )
    if as_json:
        print_json(summary)
    elif not quiet:
        out.print(
            f"{summary['capacity_mah_cm2']:.3f} mAh/cm^2 ({summary['capacity_mah_g']:.1f} mAh/g, "
            f"{summary['capacity_ah_l']:.0f} Ah/L) at {summary['c_rate']:.3g}C in "
            f"{summary['wall_s']:.0f} s: {summary['end']}; wrote {output}"
        )
        thirds = summary["sod_end_by_third_collector_middle_separator"]
        out.print(
            "SOD at the end, collector / middle / separator third: "
            + " / ".join("-" if s is None else f"{s:.2f}" for s in thirds)
        )


def _mpi_command(ranks: int, linear_solver: str) -> list[str] | None:
    """The ``mpiexec`` command that runs this command (``sys.argv``) on ``ranks`` processes, or
    None when this process runs the discharge (``ranks`` 1, or started by ``mpiexec -n ranks``).

    Raises InputError for ``ranks`` < 1, a ``ranks`` other than mpiexec's, or no ``mpiexec``;
    LinearSolverError when the linear solver cannot be distributed (not PETSc, or no petsc4py).
    """
    from voxode.electrochem.linear import resolve_kind
    from voxode.errors import InputError
    from voxode.ranks import world_size

    if ranks < 1:
        raise InputError(f"--ranks must be at least 1, got {ranks}")
    started = world_size()
    if started > 1 and ranks not in (1, started):
        raise InputError(f"--ranks {ranks} under mpiexec -n {started}: give only one of them")
    if ranks == 1 or started > 1:
        return None
    resolve_kind(linear_solver, 0, ranks)
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise InputError(
            f"--ranks {ranks} needs mpiexec, which is not on PATH (Debian: apt-get install "
            "openmpi-bin; scripts/install_petsc.sh installs it with PETSc)"
        )
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, check=False)
    # Open MPI's -q: no banner after a rank's error, which rank 0 has printed in one line
    quiet = ["-q"] if "Open MPI" in version.stdout or "OpenRTE" in version.stdout else []
    return [mpiexec, *quiet, "-n", str(ranks), sys.executable, "-m", "voxode", *sys.argv[1:]]


def _rank_environment() -> dict[str, str]:
    """The ranks' environment: this one, the ranks importing this process's voxode, and one
    OpenMP thread per rank unless set (hypre and BLAS would otherwise share each core among
    the ranks)."""
    import voxode

    source = str(Path(voxode.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return {"OMP_NUM_THREADS": "1", **os.environ, "PYTHONPATH": path}


def calibrate(
    data: Annotated[
        str,
        typer.Argument(
            help="Rate-test CSV (design, c_rate and/or current_ma_cm2, capacity_mah_g, optional "
            "range_mah_g), or a shipped one by name: chouchane2024 (the paper's cells)."
        ),
    ],
    electrode: Annotated[
        Path,
        typer.Option(
            "--electrode", help="Electrode file (.npz) whose effective properties feed the DFN."
        ),
    ],
    fit: Annotated[
        list[str],
        typer.Option(
            "--fit",
            help=(
                "Parameter to fit, NAME[:LO:HI] with a dotted field name (e.g. "
                "active.rate_constant:1e-7:1e-5); repeat for several. An "
                "expression field is fitted as a factor."
            ),
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for params.yaml, fit.json, fit.png.")
    ],
    params: Params = DEFAULT_PARAMETER_SET,
    design: Annotated[
        str, typer.Option("--design", help="Rows of this design are fitted.")
    ] = "pristine",
    sigma_mah_g: Annotated[
        float,
        typer.Option("--sigma-mah-g", help="Uncertainty of a row without range_mah_g (mAh/g)."),
    ] = 5.0,
    cutoff_v: CutoffV = DEFAULT_CUTOFF_V,
    profile_points: Annotated[
        int,
        typer.Option(
            "--profile-points",
            help="Profile points per parameter (identifiability); 0 skips the profile.",
        ),
    ] = 9,
    dfn_mesh: Annotated[
        list[str] | None,
        typer.Option(
            "--dfn-mesh",
            help=("PyBaMM points per domain, KEY=N (x_p, r_p, x_s, ...); repeat for several."),
        ),
    ] = None,
    restarts: Annotated[
        int,
        typer.Option(
            "--restarts",
            help="Further optimiser starts (0 or 1), "
            "from the start mirrored through the centre of the "
            "bounds.",
        ),
    ] = 1,
    verify_3d: Annotated[
        bool,
        typer.Option(
            "--verify-3d/--no-verify-3d",
            help=(
                "Discharge the electrode in 3D with the fitted set at every rate (slow on large "
                "images)."
            ),
        ),
    ] = True,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="dfn (one particle of the image's volume-weighted radius) or dfn-psd (the "
            "image's particle size distribution).",
        ),
    ] = "dfn",
    space_mapping: Annotated[
        int,
        typer.Option(
            "--space-mapping",
            help="Most re-fits with the 3D model in the loop: the DFN is re-fitted to measured - "
            "(3D - DFN) until the 3D capacities are within sigma (each costs a 3D discharge per "
            "rate); 0: none.",
        ),
    ] = 0,
    map_radius: Annotated[
        bool,
        typer.Option(
            "--map-radius/--no-map-radius",
            help="With --space-mapping: also fit a factor on the DFN's diffusion radius to the "
            "3D capacities at each step (fewer 3D runs).",
        ),
    ] = True,
    linear_solver: LinearSolver = "auto",
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            "--runs-dir",
            help="Keep the 3D discharges there (one folder each, resumable); a finished one of "
            "the same image, set, current and cut-off is reused.",
        ),
    ] = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Fit parameters to measured capacities at several rates.

    A PyBaMM DFN on the image's effective properties; with --json, fit.json's content is printed.
    """
    from voxode.electrochem.calibrate import (
        MODELS,
        CalibrationError,
        calibrate,
        parse_fit,
        write_calibration,
    )
    from voxode.electrochem.materials import load_parameters
    from voxode.electrochem.pybamm_reference import DEFAULT_PSD_MESH
    from voxode.electrochem.rate_data import read_rate_data
    from voxode.electrode import Electrode
    from voxode.options import check

    # everything is checked before anything is written
    check(
        sigma_mah_g=sigma_mah_g,
        cutoff_v=cutoff_v,
        profile_points=profile_points,
        restarts=restarts,
        space_mapping=space_mapping,
    )
    if model not in MODELS:
        raise CalibrationError(f"--model {model}: expected one of {', '.join(MODELS)}")
    rows = read_rate_data(data, design=design)
    base = load_parameters(params)
    fits = [parse_fit(spec, base) for spec in fit]
    mesh = {}
    for item in dfn_mesh or []:
        key, _, number = item.partition("=")
        if key not in DEFAULT_PSD_MESH or not number.isdigit() or int(number) < 2:
            raise CalibrationError(
                f"--dfn-mesh {item}: expected KEY=N with KEY in {', '.join(DEFAULT_PSD_MESH)}, "
                "N >= 2"
            )
        mesh[key] = int(number)
    e = Electrode.load(electrode)
    with stages("calibrating", quiet or as_json) as stage:
        result = calibrate(
            rows,
            e,
            fits,
            params=base,
            sigma_mah_g=sigma_mah_g,
            cutoff_v=cutoff_v,
            profile_points=profile_points,
            mesh=mesh or None,
            restarts=restarts,
            verify_3d=verify_3d,
            model=model,
            space_mapping=space_mapping,
            map_radius=map_radius,
            linear_solver=linear_solver,
            runs_dir=runs_dir,
            on_stage=stage,
        )
    write_calibration(
        result, output, data_path=data, design=design, electrode_path=electrode, base_name=base.name
    )
    if as_json:
        print_json(json.loads((output / "fit.json").read_text(encoding="utf-8")))
    elif not quiet:
        for p in result.parameters:
            span = p["identifiable_range"]
            out.print(
                f"{p['name']} = {p['value']:.4g}"
                + (f" (within sigma: {span[0]:.3g} .. {span[1]:.3g})" if span else "")
            )
        for row in result.rates.itertuples(index=False):
            out.print(
                f"{row.c_rate:.3g}C: measured {row.measured_mah_g:.1f}, fitted "
                f"{row.fitted_mah_g:.1f} mAh/g (residual {row.residual_mah_g:+.1f})"
            )
        for v in result.verify_3d:
            out.print(
                f"3D at {v['current_ma_cm2']:.3g} mA/cm^2: {v['3d_mah_g']:.1f} mAh/g (measured "
                f"{v['measured_mah_g']:.1f}, {v['3d_mah_g'] - v['measured_mah_g']:+.1f})"
            )
        out.print(f"wrote {output}/params.yaml, fit.json, fit.png")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``calibrate`` to ``app``."""
    app.command("simulate")(simulate)
    app.command("calibrate")(calibrate)
