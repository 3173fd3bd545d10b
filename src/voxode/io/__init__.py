"""File formats: TIFF stacks, VTK images, tables, figures (atomic writes are in
:mod:`voxode.atomic`).

Public API:

- :func:`write_tiff_stacks` / :func:`read_label_stack`: labelled TIFF stacks (pages = z);
- :func:`import_tiff`: a labelled stack (tomography) as an :class:`~voxode.electrode.Electrode`;
- :func:`write_vti`: a VTK image for ParaView (needs the ``pyvista`` extra);
- :func:`read_table` / :func:`write_table`: Parquet or CSV by suffix; :func:`save_figure`.

Names are imported on first use, so that ``voxode --help`` does not pay for tifffile or pandas.
"""

from voxode.lazy import lazy_exports

_WHERE = {
    "read_label_stack": "tiff",
    "write_tiff_stacks": "tiff",
    "import_tiff": "importing",
    "write_vti": "vtk",
    "read_table": "tables",
    "write_table": "tables",
    "save_figure": "figures",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
