"""VTK XML image (.vti) export for ParaView: one cell per voxel, spacing in um."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxode.atomic import atomic_path
from voxode.electrode import Electrode
from voxode.errors import ImageError
from voxode.extras import require


def write_vti(
    electrode: Electrode, path: Path, fields: dict[str, np.ndarray] | None = None
) -> Path:
    """Write the electrode as VTK ImageData with cell arrays "phase", "particle_id" and ``fields``.

    Extra fields are [x, y, z] arrays of the electrode's shape. Coordinates are in um with the
    origin at the corner (x = y = z = 0, z = 0 the current collector). Written atomically.

    Parameters
    ----------
    electrode : Electrode
        The electrode.
    path : Path
        ``.vti`` file to write.
    fields : dict of str to ndarray, optional
        Extra cell arrays, [x, y, z].

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    arrays = {"phase": electrode.phases, "particle_id": electrode.particle_ids, **(fields or {})}
    pv = require("pyvista", "pyvista", "VTK export")  # VTK is slow to import and only needed here

    grid = pv.ImageData(
        dimensions=tuple(n + 1 for n in electrode.shape),
        spacing=(electrode.voxel_um,) * 3,
        origin=(0.0, 0.0, 0.0),
    )
    for name, values in arrays.items():
        values = np.asarray(values)
        if values.shape != electrode.shape:
            raise ImageError(
                f"field '{name}' has shape {values.shape}, the electrode {electrode.shape}"
            )
        grid.cell_data[name] = values.ravel(order="F")  # VTK runs x fastest
    with atomic_path(path) as tmp:
        grid.save(tmp, binary=True)
    return path
