"""Every error voxode raises, in one place. Each carries a one-line message that names the input
and what to change.

:class:`VoxodeError` and its subclasses are bad input: the CLI prints them without a traceback
and exits with code 2. :class:`RunFailure` is a run that started but could not finish (exit code
1). :class:`StepFailure` never reaches a user: the solver catches it and shortens its time step.
"""

from __future__ import annotations


class VoxodeError(Exception):
    """Base class of every error a user can cause with bad input."""


class InputError(VoxodeError):
    """A number or option given on the command line or to an API call is invalid."""


class RecipeError(VoxodeError):
    """A recipe (or preset name) is invalid: the message names the field."""


class PackingError(VoxodeError):
    """The generator cannot reach a recipe's targets (volume fractions, percolation)."""


class ElectrodeFileError(VoxodeError):
    """An electrode or image file is missing, corrupt, or holds unexpected content."""


class ImageError(VoxodeError):
    """A labelled image is not a valid electrode image (labels, shape, connectivity)."""


class ResourceError(VoxodeError):
    """The work would need more memory than the machine has (the message gives both)."""


class MissingExtraError(VoxodeError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ParameterError(VoxodeError):
    """A parameter set that cannot be read or does not validate."""


class GridError(VoxodeError, ValueError):
    """An electrode on which no discharge can be simulated (reason in the message)."""


class LinearSolverError(VoxodeError):
    """A linear-solver choice that cannot be used here (unknown, or PETSc not installed)."""


class SimulationError(VoxodeError):
    """A discharge that cannot be started (the message says which input to change)."""


class DatasetError(VoxodeError):
    """A per-particle dataset (or feature table) lacks columns, rows, or holds invalid values."""


class CalibrationError(DatasetError):
    """Calibration data or a fit specification that cannot be used (one line: what to change)."""


class CampaignError(VoxodeError):
    """A campaign that cannot run (bad spec, no cases, unreachable scheduler)."""


class ModelError(VoxodeError):
    """A surrogate model folder is missing, corrupt, or does not fit the data it is given."""


class DesignError(VoxodeError):
    """A design study that cannot run: no or duplicate designs, bad seeds or rates, a bad
    experimental file."""


class ReproduceError(VoxodeError):
    """A reproduce preset that cannot run (unknown name, bad file)."""


class RunFailure(Exception):
    """A run that started but could not finish (solver failure, no step possible).

    Not bad input, so not a :class:`VoxodeError`: the CLI prints its one line and exits
    with code 1. The run's folder then holds ``failed.json`` and no result files.

    Parameters
    ----------
    message : str
        One line: what failed and where.
    record : dict, optional
        What the run's ``failed.json`` holds (end reason, time, voltage, ...).
    """

    def __init__(self, message: str, record: dict | None = None):
        super().__init__(message)
        self.record = record or {}


class StepFailure(RuntimeError):
    """A time step that could not be solved (the message says why); internal to the solver."""
