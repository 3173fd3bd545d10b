"""Tables and JSON summaries on disk: Parquet/CSV by
suffix, written atomically; JSON-safe numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voxode.atomic import write_atomic
from voxode.errors import VoxodeError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".parquet", ".csv")


def check_table_path(path: Path | None, option: str) -> None:
    """Raise a one-line error unless ``path`` (named
    ``option`` to the user) is a .parquet/.csv name."""
    if path is not None and path.suffix.lower() not in TABLE_SUFFIXES:
        raise VoxodeError(f"{option} {path} must end in .parquet or .csv")


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or Parquet (by suffix), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    path : Path
        ``.parquet`` or ``.csv`` file to write.

    Returns
    -------
    Path
        ``path``.
    """
    if path.suffix.lower() == ".csv":
        return write_atomic(path, lambda p: frame.to_csv(p, index=False))
    return write_atomic(path, lambda p: frame.to_parquet(p, index=False))


def read_table(path: Path, error: type[VoxodeError] = VoxodeError) -> pd.DataFrame:
    """Read a .parquet or .csv table; a missing or unreadable file raises ``error`` (one line).

    Parameters
    ----------
    path : Path
        ``.parquet`` or ``.csv`` file.
    error : type of VoxodeError
        The error raised when the file cannot be read.

    Returns
    -------
    pandas.DataFrame
        The table.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"table not found: {path}")
    check_table_path(path, "table")
    import pandas as pd  # here: the CLI imports this module at startup, pandas takes ~0.5 s

    try:
        return pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pyarrow/pandas raise many types for a corrupt file
        raise error(
            f"{path} is not a readable table: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def json_safe(value: Any) -> Any:
    """Plain Python numbers for JSON: numpy scalars unwrapped, NaN/inf as None."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value
