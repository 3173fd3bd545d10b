"""Labelled TIFF stacks: one page per z plane, each page (y, x); arrays in voxode are [x, y, z].

Stacks are written uncompressed. uint8 and uint16 stacks are ImageJ hyperstacks (voxel size in
the resolution tags and as ``spacing``, unit um); uint32 particle ids, which ImageJ cannot hold,
are plain multi-page TIFFs with the resolution in pixels per cm and the voxel size in the
tifffile JSON description.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import tifffile

from voxode.atomic import atomic_path
from voxode.electrode import Electrode
from voxode.errors import ElectrodeFileError, ImageError

_UINT16_MAX = int(np.iinfo(np.uint16).max)


def write_tiff_stacks(electrode: Electrode, stem: Path) -> list[Path]:
    """Write ``<stem>_phases.tif`` (uint8 0/1/2) and ``<stem>_particles.tif`` (ids; uint16 or
    uint32).

    Returns the two paths, phases first. Each file is written atomically.

    Parameters
    ----------
    electrode : Electrode
        The electrode.
    stem : Path
        Path of the files without their ``_phases.tif`` / ``_particles.tif`` ending.

    Returns
    -------
    list of Path
        The two files, phases first (voxel size in their metadata, um).
    """
    stem = Path(stem)
    ids = electrode.particle_ids
    id_dtype = np.uint16 if int(ids.max(initial=0)) <= _UINT16_MAX else np.uint32
    out = []
    for suffix, labels in (
        ("_phases.tif", electrode.phases),
        ("_particles.tif", ids.astype(id_dtype)),
    ):
        path = stem.with_name(stem.name + suffix)
        _write_stack(labels, electrode.voxel_um, path)
        out.append(path)
    return out


def _write_stack(labels: np.ndarray, voxel_um: float, path: Path) -> None:
    """Write a [x, y, z] label array as a z-stack of (y, x) pages with the voxel size (um)."""
    zyx = np.ascontiguousarray(labels.transpose(2, 1, 0))
    meta = {"axes": "ZYX", "spacing": voxel_um, "unit": "um"}
    with atomic_path(path) as tmp:
        if zyx.dtype in (np.uint8, np.uint16):
            tifffile.imwrite(
                tmp,
                zyx,
                imagej=True,
                photometric="minisblack",
                resolution=(1.0 / voxel_um, 1.0 / voxel_um),
                metadata=meta,
            )
        else:
            per_cm = 1e4 / voxel_um
            tifffile.imwrite(
                tmp,
                zyx,
                photometric="minisblack",
                resolution=(per_cm, per_cm),
                resolutionunit="CENTIMETER",
                metadata=meta,
            )


def stack_voxels(path: Path) -> int | None:
    """Voxels of the stack in ``path`` from its header, without reading the pixels (None when the
    header cannot be read: :func:`read_label_stack` then says why)."""
    try:
        with tifffile.TiffFile(path) as tif:
            return int(np.prod(tif.series[0].shape))
    except (OSError, ValueError, struct.error, IndexError, KeyError):
        return None


def read_label_stack(path: Path) -> np.ndarray:
    """Read a 3D label stack (pages = z) as an integer array indexed [x, y, z].

    A missing, unreadable, truncated or non-3D file raises ElectrodeFileError; non-integer
    values raise ImageError.

    Parameters
    ----------
    path : Path
        TIFF stack.

    Returns
    -------
    ndarray of int, [x, y, z]
        The labels.
    """
    path = Path(path)
    if not path.is_file():
        raise ElectrodeFileError(f"image file not found: {path}")
    try:
        with tifffile.TiffFile(path) as tif:
            _check_complete(tif, path)
            zyx = tif.asarray()
    except (OSError, ValueError, struct.error, IndexError, KeyError) as exc:
        raise ElectrodeFileError(f"{path} is not a readable TIFF stack: {exc}") from None
    if zyx.ndim != 3:
        raise ElectrodeFileError(
            f"{path} holds a {zyx.ndim}D image of shape {zyx.shape}: expected "
            f"one 3D stack, pages = z planes"
        )
    if zyx.dtype == bool:
        zyx = zyx.astype(np.uint8)
    elif not np.issubdtype(zyx.dtype, np.integer):
        if not np.all(np.isfinite(zyx)) or np.any(zyx != np.round(zyx)):
            raise ImageError(
                f"{path} holds non-integer values ({zyx.dtype}): expected integer labels"
            )
        zyx = zyx.astype(np.int64)
    return np.ascontiguousarray(zyx.transpose(2, 1, 0))


def _check_complete(tif: tifffile.TiffFile, path: Path) -> None:
    """Raise ElectrodeFileError when the image data reach past the end of the file (truncated)."""
    size = tif.filehandle.size
    series = tif.series[0]
    if series.dataoffset is not None:
        end = series.dataoffset + series.nbytes
    else:
        end = max(
            (
                o + c
                for page in series.pages
                if page is not None
                for o, c in zip(page.dataoffsets, page.databytecounts, strict=False)
            ),
            default=0,
        )
    if end > size:
        raise ElectrodeFileError(
            f"{path} is truncated: image data end at byte {end}, the file has {size}"
        )
