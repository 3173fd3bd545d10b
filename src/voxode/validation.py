"""Plain data files (YAML or TOML text) into validated pydantic models, with one-line errors.

Recipes, campaign files, screening spaces, reproduce presets and parameter sets are all read
this way: parse, check that the text is a mapping, validate, and turn the first problem into a
one-line error of the caller's type that names the source and the field.
"""

from __future__ import annotations

import tomllib
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from voxode.errors import VoxodeError

M = TypeVar("M", bound=BaseModel)


def validation_message(exc: ValidationError, source: str = "") -> str:
    """The first error of a pydantic validation as one line: '<source>: <field>: <message>'."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source + ': ' if source else ''}{loc + ': ' if loc else ''}{msg}{more}"


def validated(model: type[M], data: Any, source: str, error: type[VoxodeError]) -> M:
    """``data`` validated as ``model``; the first problem raises ``error`` in one line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(validation_message(exc, source)) from None


def load_validated(
    model: type[M],
    text: str,
    source: str,
    error: type[VoxodeError],
    *,
    what: str,
    toml: bool = False,
) -> M:
    """Parse ``text`` (YAML, or TOML when ``toml``) and validate it as ``model``.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        What the text describes.
    text : str
        The file's content.
    source : str
        Where the text came from (a path or "preset <name>"), the start of every message.
    error : type of VoxodeError
        The error raised for unparsable text, a non-mapping or a failed validation.
    what : str
        What the file is, for the message when it is not a mapping (e.g. "a recipe").
    toml : bool
        Parse TOML instead of YAML.

    Returns
    -------
    model
        The validated object.
    """
    try:
        data = tomllib.loads(text) if toml else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise error(
            f"{source}: not valid {'TOML' if toml else 'YAML'}: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict):
        raise error(f"{source}: {what} must be a mapping of fields")
    return validated(model, data, source, error)
