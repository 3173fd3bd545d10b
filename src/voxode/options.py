"""One validation layer for the numbers a user gives, on the command line or to the Python API.

Each numeric option has one rule here, under the name it has in both (``c_rate`` is
``--c-rate``). Commands and API functions pass their arguments through :func:`check`, so
``voxode simulate --c-rate nan`` and ``simulate(e, c_rate=float("nan"))`` fail alike: an
:class:`~voxode.errors.InputError` with one line (exit code 2 on the command line), before
any work or any file.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from voxode.errors import InputError
from voxode.validation import validation_message

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # numpy RandomState and scikit-learn take 32-bit seeds

RULES: dict[str, Any] = {
    "c_rate": NonNegative,  # zero only with an end time: a rest (simulate checks)
    "current_ma_cm2": NonNegative,
    "cutoff_v": Positive,  # vs Li/Li+; the parameter set narrows it (ParameterSet.cutoff_range_v)
    "t_end_s": Positive,
    "voxel_um": Positive,
    "thickness_um": Positive,
    "seed": Seed,
    "base_seed": Seed,
    "cbd_nanoporosity": Fraction,
    "workers": Count,
    "jobs": Count,
    "folds": Annotated[int, Field(ge=2)],
    "top": Count,
    "sigma_mah_g": Positive,
    "profile_points": NonNegativeInt,
    "restarts": Annotated[int, Field(ge=0, le=1)],
    "space_mapping": NonNegativeInt,
}


@cache
def _adapter(name: str) -> TypeAdapter:
    return TypeAdapter(RULES[name])


def option_name(name: str) -> str:
    """The command-line spelling of an argument: ``c_rate`` -> ``--c-rate``."""
    return "--" + name.replace("_", "-")


def check(**values: Any) -> None:
    """Validate named options by their rule in :data:`RULES` (``None`` means not given).

    Parameters
    ----------
    **values
        Option name (as in :data:`RULES`) and value, in the option's unit (``c_rate`` 1/h,
        ``cutoff_v`` V, ``voxel_um`` um, ...).

    Raises
    ------
    InputError
        One line naming the first invalid option, its value and the rule it breaks.
    """
    for name, value in values.items():
        if value is None:
            continue
        try:
            _adapter(name).validate_python(value)
        except ValidationError as exc:
            message = validation_message(exc)  # the formatter of every validation error
            raise InputError(
                f"{option_name(name)} {value!r}: {message[0].lower()}{message[1:]}"
            ) from None
