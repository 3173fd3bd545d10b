"""The command-line options that several commands share, each declared once.

A command takes them as typed parameters (``quiet: Quiet = False``); the numbers they carry are
checked by :func:`voxode.options.check` under the same name. Defaults that the Python API shares
(parameter set, cut-off voltage) come from :mod:`voxode.electrochem.defaults`, a module without
imports, so that ``voxode --help`` shows them without loading the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET

__all__ = [
    "DEFAULT_CUTOFF_V",
    "DEFAULT_PARAMETER_SET",
    "AsJson",
    "BaseSeed",
    "CasesDir",
    "CutoffV",
    "ElectrodeFile",
    "Force",
    "Jobs",
    "LinearSolver",
    "Params",
    "Quiet",
    "Scheduler",
    "Seeds",
    "VoxelUm",
    "Workers",
]

Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress output and no summary (errors, and --json's output, still print).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]
Force = Annotated[
    bool,
    typer.Option(
        "--force", help="Start even when the memory estimate exceeds the memory available."
    ),
]
Workers = Annotated[int, typer.Option("--workers", help="Local worker processes.")]
Jobs = Annotated[int, typer.Option("--jobs", "-j", help="Processes/threads to use.")]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address for the "
        "simulations, e.g. tcp://host:8786 (instead of "
        "local processes).",
    ),
]
Params = Annotated[
    str, typer.Option("--params", help="Parameter set: a shipped name or a YAML file.")
]
CutoffV = Annotated[float, typer.Option("--cutoff-v", help="Cut-off voltage (V vs Li/Li+).")]
LinearSolver = Annotated[
    str,
    typer.Option(
        "--linear-solver",
        help="auto (direct when small, else PETSc when installed, else pyamg), "
        "direct, petsc or pyamg.",
    ),
]
VoxelUm = Annotated[
    float | None, typer.Option("--voxel-um", help="Voxel size (um), overrides the recipe(s).")
]
Seeds = Annotated[
    int, typer.Option("--seeds", help="Seeds (stochastic electrodes) per design and rate.")
]
BaseSeed = Annotated[
    int | None, typer.Option("--base-seed", help="First seed (default: the recipe's own seed).")
]
CasesDir = Annotated[
    Path | None,
    typer.Option(
        "--cases-dir", help="Case folders, shared between studies (default: OUTPUT/cases)."
    ),
]
ElectrodeFile = Annotated[Path, typer.Argument(help="Electrode file (.npz written by voxode).")]
