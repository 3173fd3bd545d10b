"""Import a labelled image stack (e.g. segmented tomography) as an Electrode.

Phase labels: 0 pore, 1 NMC, 2 CBD. Particle ids come from a second stack when given, else
from a watershed of the NMC phase's distance map.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from skimage.feature import peak_local_max
from skimage.segmentation import relabel_sequential, watershed

from voxode import __version__
from voxode.electrode import NMC, PHASE_NAMES, Electrode, Layer
from voxode.errors import ImageError, RecipeError
from voxode.io.tiff import read_label_stack, stack_voxels
from voxode.options import check
from voxode.resources import MIB, MemoryEstimate, check_memory

_MAX_LABELS_SHOWN = 12


# Fitted to the measured peak RSS at 1.5 .. 0.25 um (benchmarks/bench_memory.py): the imports
# (fixed), then the stack, distance map, markers, labels and the merge's adjacency (per voxel).
FIXED_BYTES = 195 * MIB
BYTES_PER_VOXEL = 50


def estimate_memory(phases_path: Path) -> MemoryEstimate:
    """Expected peak resident memory of importing the stack ``phases_path`` (from its header)."""
    voxels = stack_voxels(Path(phases_path)) or 0
    return MemoryEstimate("import", FIXED_BYTES + BYTES_PER_VOXEL * voxels, voxels)


def import_tiff(
    phases_path: Path,
    particles_path: Path | None = None,
    *,
    voxel_um: float,
    cbd_nanoporosity: float = 0.5,
    nmc_density_g_cm3: float = 4.75,
    specific_capacity_mah_g: float = 200.0,
    min_particle_um: float = 2.0,
    flip_z: bool = False,
    force: bool = False,
) -> Electrode:
    """Read a phase stack (and optionally a particle-id stack) into an Electrode.

    ``voxel_um``: voxel edge (um). Without ``particles_path``, NMC particles are separated by a
    watershed whose markers are at least ``min_particle_um / 2`` apart, and segments smaller
    than a ``min_particle_um`` sphere merge into the neighbour they touch most. Given ids are
    kept as written when they already run 1..N (else renumbered 1..N in order).
    voxode puts the current collector at z = 0 (the first page) and the separator at the last
    page; ``flip_z`` reverses a stack stored the other way round. A stack whose memory estimate
    exceeds the memory available is refused unless ``force``.

    Parameters
    ----------
    phases_path : Path
        Labelled TIFF stack: 0 pore, 1 NMC, 2 CBD (pages = z).
    particles_path : Path, optional
        TIFF stack of particle ids (else a watershed).
    voxel_um : float
        Voxel edge (um).
    cbd_nanoporosity : float
        Nanoporosity of the CBD (0 to 1).
    nmc_density_g_cm3 : float
        NMC density (g/cm^3), for the loading.
    specific_capacity_mah_g : float
        NMC specific capacity (mAh/g), for the nominal capacity.
    min_particle_um : float
        Smallest particle diameter (um) the watershed keeps apart.
    flip_z : bool
        The stack's first page is the separator side.
    force : bool
        Start even when the memory estimate exceeds the memory available.

    Returns
    -------
    Electrode
        The imported electrode (one layer).
    """
    phases_path = Path(phases_path)
    check(voxel_um=voxel_um)
    _check_material(cbd_nanoporosity, nmc_density_g_cm3, specific_capacity_mah_g, min_particle_um)
    check_memory(estimate_memory(phases_path), force, hint="crop or bin the stack")
    phases = read_label_stack(phases_path)
    _check_phase_labels(phases, phases_path)
    if flip_z:
        phases = phases[:, :, ::-1]
    phases = phases.astype(np.uint8)
    if particles_path is not None:
        ids = _given_ids(Path(particles_path), phases, flip_z)
    else:
        ids = watershed_particles(phases == NMC, voxel_um, min_particle_um)
    n = int(ids.max(initial=0))
    particles = pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int32),
            "layer": np.zeros(n, dtype=np.int32),
            "population": np.full(n, "imported"),
        }
    )
    thickness_um = phases.shape[2] * voxel_um
    layer = Layer(
        name="electrode",
        z0_um=0.0,
        z1_um=thickness_um,
        cbd_nanoporosity=cbd_nanoporosity,
        nmc_density_g_cm3=nmc_density_g_cm3,
        specific_capacity_mah_g=specific_capacity_mah_g,
    )
    return Electrode(
        phases=phases,
        particle_ids=ids,
        voxel_um=float(voxel_um),
        particles=particles,
        layers=[layer],
        recipe=None,
        provenance={
            "source": "import",
            "file": phases_path.name,
            "voxode_version": __version__,
            "particle_ids": Path(particles_path).name
            if particles_path is not None
            else f"watershed (min_particle_um={min_particle_um:g})",
            "flip_z": flip_z,
        },
    )


def _check_material(
    cbd_nanoporosity: float,
    nmc_density_g_cm3: float,
    specific_capacity_mah_g: float,
    min_particle_um: float,
) -> None:
    if not 0 <= cbd_nanoporosity < 1:
        raise RecipeError(f"cbd_nanoporosity must be in [0, 1), got {cbd_nanoporosity:g}")
    for name, value in (
        ("nmc_density_g_cm3", nmc_density_g_cm3),
        ("specific_capacity_mah_g", specific_capacity_mah_g),
        ("min_particle_um", min_particle_um),
    ):
        if not 0 < value < math.inf:
            raise RecipeError(f"{name} must be positive and finite, got {value:g}")


def _labels_present(labels: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (bincount when the range is small)."""
    lo, hi = int(labels.min(initial=0)), int(labels.max(initial=0))
    if lo >= 0 and hi < 1 << 16 and np.can_cast(labels.dtype, np.intp):
        return np.flatnonzero(np.bincount(labels.ravel(), minlength=hi + 1))
    return np.unique(labels)


def _check_phase_labels(phases: np.ndarray, path: Path) -> None:
    found = _labels_present(phases)
    if np.all(np.isin(found, list(PHASE_NAMES))):
        return
    shown = ",".join(str(v) for v in found[:_MAX_LABELS_SHOWN])
    more = f",... ({len(found)} labels)" if len(found) > _MAX_LABELS_SHOWN else ""
    raise ImageError(f"{path.name} holds labels {shown}{more}: expected 0 (pore), 1 (NMC), 2 (CBD)")


def _given_ids(path: Path, phases: np.ndarray, flip_z: bool) -> np.ndarray:
    """Particle ids from a stack: same shape as the
    phases, nonzero exactly on NMC; renumbered 1..N."""
    ids = read_label_stack(path)
    if flip_z:
        ids = ids[:, :, ::-1]
    if ids.shape != phases.shape:
        raise ImageError(
            f"{path.name} has shape {ids.shape} (x, y, z), the phase stack {phases.shape}"
        )
    if int(ids.min(initial=0)) < 0 or int(ids.max(initial=0)) > np.iinfo(np.int32).max:
        raise ImageError(f"{path.name}: particle ids must lie in 0..{np.iinfo(np.int32).max}")
    nmc = phases == NMC
    if np.any((ids > 0) != nmc):
        raise ImageError(
            f"{path.name}: particle ids must be nonzero exactly on the NMC voxels (label 1) "
            f"of the phase stack"
        )
    ids = ids.astype(np.int32)
    present = _labels_present(ids)
    present = present[present > 0]
    if present.size and present[-1] != present.size:
        ids = relabel_sequential(ids)[0].astype(np.int32)
    return ids


def watershed_particles(
    nmc: np.ndarray, voxel_um: float, min_particle_um: float = 2.0
) -> np.ndarray:
    """Particle ids 1..N (int32, [x, y, z]) for a boolean NMC mask, each particle one 6-connected
    piece.

    Markers are maxima of the distance map at least ``min_particle_um / 2`` (um) apart; the
    watershed floods from single-voxel markers through face neighbours, so each segment is
    connected, and NMC components without a marker become particles of their own. Segments
    smaller than a ``min_particle_um`` sphere merge with the neighbour they share most faces with.
    """
    distance = ndimage.distance_transform_edt(nmc)
    min_distance = max(1, round(0.5 * min_particle_um / voxel_um))
    peaks = peak_local_max(
        distance, min_distance=min_distance, exclude_border=False, labels=nmc.astype(np.int32)
    )
    peaks = peaks.reshape(-1, nmc.ndim)  # skimage returns shape (0, 1) when there is no NMC at all
    markers = np.zeros(nmc.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    ids = watershed(-distance, markers, mask=nmc).astype(np.int32)
    orphans, n_orphans = ndimage.label(nmc & (ids == 0))
    ids[orphans > 0] = orphans[orphans > 0] + len(peaks)
    min_voxels = math.pi / 6.0 * (min_particle_um / voxel_um) ** 3
    ids = _merge_small(ids, len(peaks) + n_orphans, min_voxels)
    return relabel_sequential(ids)[0].astype(np.int32)


def _face_contacts(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) labels of every pair of face-adjacent
    voxels in different segments, both directions."""
    a_parts, b_parts = [], []
    for axis in range(3):
        lo = np.moveaxis(ids, axis, 0)[:-1]
        hi = np.moveaxis(ids, axis, 0)[1:]
        touch = (lo != hi) & (lo > 0) & (hi > 0)
        a_parts += [lo[touch], hi[touch]]
        b_parts += [hi[touch], lo[touch]]
    return np.concatenate(a_parts).astype(np.int64), np.concatenate(b_parts).astype(np.int64)


def _merge_small(ids: np.ndarray, n: int, min_voxels: float) -> np.ndarray:
    """Merge every segment below ``min_voxels`` into the touching segment it shares most faces with.

    Merged groups are unions of face-touching connected segments, so they stay connected.
    """
    sizes = np.bincount(ids.ravel(), minlength=n + 1)
    a, b = _face_contacts(ids)
    small = sizes[a] < min_voxels
    if not np.any(small):
        return ids
    key, contacts = np.unique(a[small] * (n + 1) + b[small], return_counts=True)
    src, dst = key // (n + 1), key % (n + 1)
    order = np.lexsort((-contacts, src))  # per source segment, its most-shared neighbour first
    src, dst = src[order], dst[order]
    first = np.r_[True, src[1:] != src[:-1]]
    graph = sparse.coo_matrix(
        (np.ones(int(first.sum())), (src[first], dst[first])), shape=(n + 1, n + 1)
    )
    _, group = csgraph.connected_components(graph, directed=False)
    remap = (group + 1).astype(np.int32)
    remap[0] = 0
    return remap[ids]
