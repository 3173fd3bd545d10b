"""CLI command ``voxode simulate`` (registered on the main app)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from voxode.electrode import Electrode


def simulate_command(
    electrode: Annotated[Path, typer.Argument(help="Electrode file (.npz).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder to write (resumes a killed run).")],
    c_rate: Annotated[Optional[float], typer.Option("--c-rate", help="C-rate vs the nominal capacity.")] = None,
    current_ma_cm2: Annotated[Optional[float], typer.Option("--current-ma-cm2", help="Current density (mA/cm^2).")] = None,
    cutoff_v: Annotated[float, typer.Option("--cutoff-v", help="Cut-off voltage (V).")] = 3.0,
    params: Annotated[str, typer.Option("--params", help="Parameter set name or YAML file.")] = "chen2020-nyman2008",
    linear_solver: Annotated[str, typer.Option(
        "--linear-solver", help="auto (direct when small, else PETSc when installed, else pyamg), "
                                "direct, petsc or pyamg.")] = "auto",
    vtk: Annotated[bool, typer.Option("--vtk", help="Also write the final fields as fields.vti.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Discharge an electrode in a Li half cell (galvanostatic, to the cut-off voltage)."""
    from voxode.electrochem.result import write_outputs
    from voxode.electrochem.simulate import SimulationError, nominal_capacity_mah_cm2, simulate
    from voxode.electrochem.solver import SolverOptions

    if (c_rate is None) == (current_ma_cm2 is None):
        raise SimulationError("give exactly one of --c-rate and --current-ma-cm2")
    e = Electrode.load(electrode)
    nominal = nominal_capacity_mah_cm2(e)
    progress = Progress(TextColumn("discharging"), BarColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), console=Console(stderr=True), disable=quiet, transient=True)
    with progress:
        task = progress.add_task("discharge", total=nominal, status="")

        def report(t_s: float, voltage_v: float, capacity: float) -> None:
            progress.update(task, completed=min(capacity, nominal),
                            status=f"{capacity:.3f} mAh/cm^2  {voltage_v:.3f} V  t = {t_s:.0f} s")

        discharge = simulate(e, c_rate=c_rate, current_ma_cm2=current_ma_cm2, cutoff_v=cutoff_v,
                             params=params, options=SolverOptions(linear=linear_solver),
                             run_dir=output, on_step=report)
    summary = write_outputs(discharge, output, vtk=vtk) | {"output": str(output)}
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    elif not quiet:
        Console().print(
            f"{summary['capacity_mah_cm2']:.3f} mAh/cm^2 ({summary['capacity_mah_g']:.1f} mAh/g, "
            f"{summary['capacity_ah_l']:.0f} Ah/L) at {summary['c_rate']:.3g}C in {summary['wall_s']:.0f} s: "
            f"{summary['end_reason']}; wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the main ``voxode`` app."""
    app.command("simulate")(simulate_command)

