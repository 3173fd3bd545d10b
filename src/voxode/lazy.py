"""Packages whose public names are imported on first use (like scikit-image's lazy stubs), so
that ``import voxode.cli`` and ``voxode --help`` do not pay for numba, scipy or scikit-learn."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package``: name -> ``package.<where[name]>``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : mapping of str to str
        Each public name and the submodule (relative to ``package``) that defines it.

    Returns
    -------
    tuple of callables
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """
    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
