"""Optional dependencies: imported where they are used, with a one-line error naming the extra.

``pip install voxode`` runs the whole pipeline; the PyBaMM reference (``voxode[pybamm]``), BPX
files (``voxode[bpx]``), Dask clusters (``voxode[dask]``), SHAP explanations
(``voxode[shap]``) and 3D pictures / VTK files (``voxode[pyvista]``) need their extra.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from voxode.errors import MissingExtraError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise MissingExtraError: ``<purpose> needs <module>: pip install
    'voxode[<extra>]'``.

    Parameters
    ----------
    module : str
        The module to import (e.g. ``"pybamm"``, ``"distributed"``).
    extra : str
        The voxode extra that installs it (a key of ``[project.optional-dependencies]``).
    purpose : str
        What the user asked for, for the message (e.g. ``"the DFN reference"``).
    """
    try:
        return import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{purpose} needs {module.split('.')[0]}: pip install 'voxode[{extra}]'"
        ) from None
