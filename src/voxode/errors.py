"""Typed, user-facing errors. Each carries a one-line message that names the input and what to change.

The CLI prints them without a traceback and exits with code 2.
"""


class VoxodeError(Exception):
    """Base class of every error a user can cause with bad input."""


class RecipeError(VoxodeError):
    """A recipe (or preset name) is invalid: the message names the field."""


class PackingError(VoxodeError):
    """The generator cannot reach a recipe's targets (volume fractions, percolation)."""


class ElectrodeFileError(VoxodeError):
    """An electrode or image file is missing, corrupt, or holds unexpected content."""


class ImageError(VoxodeError):
    """A labelled image is not a valid electrode image (labels, shape, connectivity)."""


class DatasetError(VoxodeError):
    """A per-particle dataset (or feature table) lacks columns, rows, or holds invalid values."""


class ModelError(VoxodeError):
    """A surrogate model folder is missing, corrupt, or does not fit the data it is given."""


class InputError(VoxodeError):
    """A number or option given on the command line or to an API call is invalid."""


class RunFailure(Exception):
    """A run that started but could not finish (solver failure, no step possible).

    Not bad input, so not a :class:`VoxodeError`: the CLI prints its one line and exits
    with code 1. The run's folder then holds ``failed.json`` and no result files.
    """

    def __init__(self, message: str, record: dict | None = None):
        super().__init__(message)
        self.record = record or {}
