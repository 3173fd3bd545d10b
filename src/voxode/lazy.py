"""Packages whose public names are imported on first use (like scikit-image's lazy stubs), so
that ``import voxode.cli`` and ``voxode --help`` do not pay for numba, scipy or scikit-learn."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from types import ModuleType
from typing import Any


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
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

    Notes
    -----
    Importing a submodule binds it to the package attribute of its name. Where a public name is
    also its submodule's name (``voxode.characterize.tortuosity``, the function, in module
    ``tortuosity``), the package keeps the function, as an eager ``from .x import x`` would.
    """

    class _LazyPackage(ModuleType):
        def __setattr__(self, attr: str, value: Any) -> None:
            if (
                attr in where
                and isinstance(value, ModuleType)
                and value.__name__ == f"{package}.{where[attr]}"
            ):
                value = getattr(value, attr)
            super().__setattr__(attr, value)

    sys.modules[package].__class__ = _LazyPackage

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
