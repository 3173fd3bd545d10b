"""Measured rate tests: capacities of cells at several C-rates, read and checked.

A rate test is a CSV with the columns ``design``, ``capacity_mah_g`` and ``c_rate`` and/or
``current_ma_cm2``; an optional ``range_mah_g`` (max - min over the cells) sets a row's
uncertainty. It feeds the calibration (:mod:`.calibrate`, the rows of one design) and the
validation of a reproduction against the cells (every design).

One is shipped, by name (:data:`SHIPPED_RATE_TESTS`):

``chouchane2024``
    Every number of the coin-cell rate test of Chouchane et al., ACS Energy Lett. 9 (2024)
    1480-1486, doi:10.1021/acsenergylett.4c00203 (its Fig. 4B) that the paper's text states:
    half cells vs Li, 8 mAh/cm^2, ~150 um, discharged at C/10 .. 1C. The pristine rows are
    derived from the stated percentages ("around 125 % and 25 % higher"), so they carry a
    few mAh/g of rounding; each row's ``origin`` says how it was obtained. Calibrate on the
    pristine rows only; the bi-layer rows are the validation.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from voxode.errors import CalibrationError

SHIPPED_RATE_TESTS = {"chouchane2024": "chouchane2024.csv"}  # name -> file in electrochem/data
REQUIRED_COLUMNS = ("design", "capacity_mah_g")
RATE_COLUMNS = ("c_rate", "current_ma_cm2")


def read_rate_table(spec: str | Path) -> pd.DataFrame:
    """Every row of a rate test, checked.

    Parameters
    ----------
    spec : str or Path
        A shipped rate test's name (:data:`SHIPPED_RATE_TESTS`) or a CSV file.

    Returns
    -------
    pandas.DataFrame
        The table, rates and capacities numeric (``NaN`` where a row gives none).

    Raises
    ------
    CalibrationError
        Missing file or columns, a rate that is not positive or a negative capacity.
    """
    label = str(spec)
    if label in SHIPPED_RATE_TESTS:
        text = (
            resources.files("voxode.electrochem") / "data" / SHIPPED_RATE_TESTS[label]
        ).read_text(encoding="utf-8")
    elif Path(spec).is_file():
        text = Path(spec).read_text(encoding="utf-8", errors="replace")
    else:
        raise CalibrationError(
            f"{label}: data file not found (shipped rate tests: {', '.join(SHIPPED_RATE_TESTS)})"
        )
    try:
        table = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CalibrationError(f"{label}: not a readable CSV ({exc.__class__.__name__})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if not any(c in table.columns for c in RATE_COLUMNS):
        missing.append(" or ".join(RATE_COLUMNS))
    if missing:
        raise CalibrationError(f"{label}: missing column(s) {', '.join(missing)}")
    for column in (*RATE_COLUMNS, "capacity_mah_g", "range_mah_g"):
        if column in table.columns:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    for column in RATE_COLUMNS:
        if column in table.columns:
            bad = table[column].notna() & ~(table[column] > 0)
            if bad.any():
                row = int(np.flatnonzero(bad)[0]) + 2
                raise CalibrationError(
                    f"{label}: line {row}: {column} must be positive, got "
                    f"{table[column][bad].iloc[0]:g}"
                )
    if (table["capacity_mah_g"] < 0).any():
        raise CalibrationError(f"{label}: capacity_mah_g must not be negative")
    table["design"] = table["design"].astype(str)
    return table


def read_rate_data(spec: str | Path, design: str = "pristine") -> pd.DataFrame:
    """The rows of ``design`` with a measured capacity, sorted by rate.

    Rows without a capacity (a stated spread only) are left out.

    Parameters
    ----------
    spec : str or Path
        A shipped rate test's name or a CSV file (:func:`read_rate_table`).
    design : str
        Rows whose ``design`` equals this (default ``pristine``).

    Returns
    -------
    pandas.DataFrame
        The selected rows, sorted by rate.

    Raises
    ------
    CalibrationError
        What :func:`read_rate_table` raises, no row of ``design`` with a capacity, or such a
        row without a rate.
    """
    table = read_rate_table(spec)
    rows = table[(table["design"] == design) & table["capacity_mah_g"].notna()].copy()
    if rows.empty:
        designs = sorted(set(table["design"]))
        raise CalibrationError(
            f"{spec}: no rows of design {design!r} with a capacity_mah_g "
            f"(designs: {', '.join(designs)})"
        )
    rate = rows["c_rate"] if "c_rate" in rows else pd.Series(np.nan, index=rows.index)
    current = (
        rows["current_ma_cm2"] if "current_ma_cm2" in rows else pd.Series(np.nan, index=rows.index)
    )
    if (rate.isna() & current.isna()).any():
        raise CalibrationError(f"{spec}: every {design} row needs a c_rate or current_ma_cm2")
    return rows.sort_values(by="c_rate" if "c_rate" in rows else "current_ma_cm2").reset_index(
        drop=True
    )


__all__ = ["SHIPPED_RATE_TESTS", "read_rate_data", "read_rate_table"]
