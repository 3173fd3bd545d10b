"""3D pictures of an electrode's particles coloured by a per-particle value (PyVista, off-screen).

The particle-id field (downsampled to at most ~1.2 M voxels) becomes a VTK image; its
particle voxels are thresholded and their outer surface drawn, each face coloured by its
particle's value (e.g. the end-of-discharge SOD). Particles without a value are grey. z (the
thickness, current collector at z = 0) runs left to right. Rendering is off-screen: VTK's
wheels fall back to EGL/OSMesa when there is no display, so no X server is needed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxode.atomic import atomic_path
from voxode.electrode import Electrode
from voxode.errors import VoxodeError
from voxode.extras import require

if TYPE_CHECKING:
    import pyvista as pv

MAX_VOXELS = 1_200_000
WINDOW = (1400, 700)  # pixels per panel
NAN_COLOUR = "lightgrey"
VIEW = np.array(
    [0.9, 2.0, -0.5]
)  # camera direction from the centre: above, in front, from the collector side


def _downsample(electrode: Electrode, stride: int | None) -> int:
    if stride is None:
        return max(1, math.ceil((electrode.particle_ids.size / MAX_VOXELS) ** (1.0 / 3.0)))
    if stride < 1:
        raise VoxodeError(f"downsampling stride must be >= 1, got {stride}")
    return stride


def particle_surface(
    electrode: Electrode, values: Mapping[int, float], stride: int | None = None
) -> pv.PolyData:
    """Outer surface of the particle voxels with cell data ``value`` (NaN where a particle has
    none).

    Lengths in um; ``stride`` keeps every stride-th voxel (default: enough for <= MAX_VOXELS).
    """
    pv = require("pyvista", "pyvista", "3D pictures")

    k = _downsample(electrode, stride)
    ids = electrode.particle_ids[::k, ::k, ::k]
    lookup = np.full(int(electrode.particle_ids.max()) + 1, np.nan)
    for pid, value in dict(values).items():
        if 0 < int(pid) < lookup.size:
            lookup[int(pid)] = value
    grid = pv.ImageData(dimensions=np.array(ids.shape) + 1, spacing=(electrode.voxel_um * k,) * 3)
    flat = ids.ravel(order="F")
    grid.cell_data["id"] = flat
    grid.cell_data["value"] = lookup[flat]
    if not (flat > 0).any():
        raise VoxodeError("the electrode has no particles to render")
    return grid.threshold(0.5, scalars="id").extract_surface(algorithm="dataset_surface")


def _plotter(columns: int) -> pv.Plotter:
    pv = require("pyvista", "pyvista", "3D pictures")

    if not os.environ.get(
        "DISPLAY"
    ):  # VTK warns that it falls back from X to EGL/OSMesa: expected here
        from vtkmodules.vtkCommonCore import vtkLogger

        vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
    return pv.Plotter(
        off_screen=True,
        shape=(1, columns),
        window_size=(WINDOW[0] * columns // 2 + 200, WINDOW[1]),
        border=False,
    )


def _add(
    plotter: pv.Plotter,
    surface: pv.PolyData,
    title: str,
    clim: tuple[float, float],
    cmap: str,
    bar_title: str,
) -> None:
    plotter.add_mesh(
        surface,
        scalars="value",
        clim=clim,
        cmap=cmap,
        nan_color=NAN_COLOUR,
        show_edges=False,
        scalar_bar_args={
            "title": bar_title,
            "vertical": False,
            "position_x": 0.25,
            "width": 0.5,
            "height": 0.08,
            "position_y": 0.05,
        },
    )
    plotter.add_text(title, font_size=12, position="upper_edge")
    centre = np.array(surface.center)
    plotter.camera_position = [
        tuple(centre + VIEW),
        tuple(centre),
        (1.0, 0.0, 0.0),
    ]  # x up, z to the right
    plotter.reset_camera()
    plotter.camera.zoom(1.15)
    plotter.add_axes(xlabel="x", ylabel="y", zlabel="z")


def _screenshot(plotter: pv.Plotter, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VoxodeError(f"{path}: 3D renderings are written as .png")
    with atomic_path(path) as tmp:
        plotter.screenshot(str(tmp))
    plotter.close()
    return path


def render_particle_values(
    electrode: Electrode,
    values: Mapping[int, float],
    path: str | Path,
    title: str = "",
    clim: tuple[float, float] = (0.0, 1.0),
    cmap: str = "viridis",
    bar_title: str = "SOD",
    stride: int | None = None,
) -> Path:
    """PNG of the electrode's NMC particles coloured by ``values`` (particle id -> value)."""
    plotter = _plotter(1)
    _add(plotter, particle_surface(electrode, values, stride), title, clim, cmap, bar_title)
    return _screenshot(plotter, path)


def render_side_by_side(
    electrode: Electrode,
    panels: Mapping[str, Mapping[int, float]],
    path: str | Path,
    clim: tuple[float, float] = (0.0, 1.0),
    cmap: str = "viridis",
    bar_title: str = "SOD",
    stride: int | None = None,
) -> Path:
    """One PNG, one panel per label (e.g. simulator, surrogate), same view and colour scale."""
    if not panels:
        raise VoxodeError("render_side_by_side needs at least one panel")
    plotter = _plotter(len(panels))
    for column, (label, values) in enumerate(panels.items()):
        plotter.subplot(0, column)
        _add(plotter, particle_surface(electrode, values, stride), label, clim, cmap, bar_title)
    plotter.link_views()
    return _screenshot(plotter, path)
