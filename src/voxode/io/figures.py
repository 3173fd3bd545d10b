"""Figure files: one atomic writer for every matplotlib figure voxode draws.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state, no backend
switch, no display needed); the file format follows the suffix (PNG when there is none), and
SVG/PDF files carry no creation date and SVG ids come from a fixed salt, so the same figure
gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

from voxode.atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}


def save_figure(fig: Figure, path: str | Path, *, dpi: float = 200, **options: Any) -> Path:
    """Write ``fig`` to ``path`` atomically (a killed run leaves no half-written figure).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to write.
    path : str or Path
        Target file; its suffix picks the format (``.png``, ``.svg``, ``.pdf``; PNG without one).
    dpi : float
        Resolution of raster output (dots per inch).
    **options
        Passed on to :meth:`matplotlib.figure.Figure.savefig` (e.g. ``bbox_inches="tight"``).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    with atomic_path(path) as tmp, matplotlib.rc_context({"svg.hashsalt": "voxode"}):
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_NO_DATE.get(fmt), **options)
    return path
