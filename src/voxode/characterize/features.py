"""Per-particle geometric features of an electrode (the surrogate's observables).

One row per particle id present in ``electrode.particle_ids`` (particles cut by the lateral
faces included, flagged ``border``). Areas use the smooth-surface face weights of
:mod:`voxode.characterize.areas`; tortuosity factors are read from the depth profiles of
:mod:`voxode.characterize.profile` at each particle's centroid plane.

Columns (units in the names): id, parent (periodic images of one generated particle share it;
group by it for whole-particle sizes), layer, volume_um3, d_eq_um, active_area_um2 (NMC |
electrolyte, including NMC faces on the separator plane z = L), cbd_contact_area_um2 (NMC | CBD),
nmc_contact_area_um2 (with other particles or unassigned NMC), centroid_x_um, centroid_y_um,
centroid_z_um (from the current collector), sphericity (pi^1/3 (6V)^2/3 / A, A = smooth surface +
flat cuts by the box faces), border (cut by a face x or y), tau_electrolyte, tau_electrolyte_cbd
(separator plane -> centroid plane).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from voxode.characterize.areas import DEFAULT_SIGMA_VOX, interface_faces
from voxode.characterize.profile import DepthProfile, depth_profile
from voxode.characterize.transport import electrode_fields
from voxode.electrode import CBD, NMC, PORE, Electrode, border_particles
from voxode.resources import MIB, MemoryEstimate, check_memory

PORE_REGION = -1
CBD_REGION = -2
UNASSIGNED_NMC_REGION = -3

COLUMNS: tuple[str, ...] = (
    "id",
    "parent",
    "layer",
    "volume_um3",
    "d_eq_um",
    "active_area_um2",
    "cbd_contact_area_um2",
    "nmc_contact_area_um2",
    "centroid_x_um",
    "centroid_y_um",
    "centroid_z_um",
    "sphericity",
    "border",
    "tau_electrolyte",
    "tau_electrolyte_cbd",
)


@dataclass(frozen=True)
class Characterization:
    """The particle table and the two depth profiles it was read from.

    Attributes
    ----------
    particles : pandas.DataFrame
        One row per particle (units in the column names: um, um^2, um^3).
    electrolyte, electrolyte_cbd : DepthProfile
        tau vs depth of the electrolyte alone and of electrolyte + CBD.
    """

    particles: pd.DataFrame
    electrolyte: DepthProfile
    electrolyte_cbd: DepthProfile

    def profile_frame(self) -> pd.DataFrame:
        """Both depth profiles side by side, one row per plane (columns suffixed by medium).

        Returns
        -------
        pandas.DataFrame
            ``z_um`` (um) and, per medium, tau, D_eff/D0 and porosities (dimensionless).
        """
        out = pd.DataFrame({"z_um": self.electrolyte.z_um})
        for name, prof in (
            ("electrolyte", self.electrolyte),
            ("electrolyte_cbd", self.electrolyte_cbd),
        ):
            frame = prof.to_frame().drop(columns="z_um")
            out = out.join(frame.add_suffix(f"_{name}"))
        return out


def region_labels(electrode: Electrode) -> tuple[np.ndarray, np.ndarray]:
    """(regions, rank) for :func:`interface_faces`: particle ids > 0, pore -1, CBD -2,
    NMC without id -3; rank 2 for NMC, 1 for CBD, 0 for pore (the NMC surface sets normals).

    Parameters
    ----------
    electrode : Electrode
        The electrode image.

    Returns
    -------
    regions, rank : ndarray of int, [x, y, z]
        Region labels and the rank of each voxel's phase.
    """
    regions = electrode.particle_ids.astype(np.int64)
    phases = electrode.phases
    regions[phases == PORE] = PORE_REGION
    regions[phases == CBD] = CBD_REGION
    regions[(phases == NMC) & (electrode.particle_ids == 0)] = UNASSIGNED_NMC_REGION
    rank = np.choose(phases, [0, 2, 1]).astype(np.int8)
    return regions, rank


def _face_areas(electrode: Electrode, ids: np.ndarray, sigma_vox: float) -> dict[str, np.ndarray]:
    """Smooth areas (voxel-face units) per particle and neighbour category, aligned with ``ids``."""
    regions, rank = region_labels(electrode)
    faces = interface_faces(regions, rank, sigma_vox)
    out = {k: np.zeros(ids.size) for k in ("active", "cbd", "nmc", "total")}
    for own, other in ((faces.label_lo, faces.label_hi), (faces.label_hi, faces.label_lo)):
        on = own > 0
        where = np.searchsorted(ids, own[on])
        w = faces.weight[on]
        kind = other[on]
        out["total"] += np.bincount(where, w, ids.size)
        out["active"] += np.bincount(where[kind == PORE_REGION], w[kind == PORE_REGION], ids.size)
        out["cbd"] += np.bincount(where[kind == CBD_REGION], w[kind == CBD_REGION], ids.size)
        nmc = (kind > 0) | (kind == UNASSIGNED_NMC_REGION)
        out["nmc"] += np.bincount(where[nmc], w[nmc], ids.size)
    return out


def _box_face_counts(labels: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per particle: voxel faces on the six box faces, and faces on the separator plane z = L."""
    cut = np.zeros(ids.size)
    separator = np.zeros(ids.size)
    for axis in range(3):
        for end in (0, -1):
            plane = np.take(labels, end, axis=axis)
            present = plane[plane > 0]
            hits = np.bincount(np.searchsorted(ids, present), minlength=ids.size)
            cut += hits
            if axis == 2 and end == -1:
                separator = hits.astype(float)
    return cut, separator


def _parents(electrode: Electrode, ids: np.ndarray) -> np.ndarray:
    """Physical particle of each id: periodic images of one generated particle share a parent
    (the analytic particle's index); elsewhere (imports) each id is its own parent."""
    table = electrode.particles
    if {"id", "parent"} <= set(table.columns):
        return (
            pd.Series(table["parent"].to_numpy(), index=table["id"].to_numpy())
            .reindex(ids)
            .fillna(-1)
            .to_numpy(dtype=np.int64)
        )
    return ids.copy()


def _layers(electrode: Electrode, ids: np.ndarray, z_um: np.ndarray) -> np.ndarray:
    """Layer of each particle: from the particle list when it has one, else from its centroid."""
    plane = np.clip((z_um / electrode.voxel_um).astype(np.int64), 0, electrode.shape[2] - 1)
    layer = electrode.layer_index_of_planes()[plane]
    table = electrode.particles
    if {"id", "layer"} <= set(table.columns) and len(table):
        known = pd.Series(table["layer"].to_numpy(), index=table["id"].to_numpy())
        known = known[~known.index.duplicated()]
        listed = known.reindex(ids)
        layer = np.where(listed.notna(), listed.to_numpy(dtype=float, na_value=0.0), layer)
    return layer.astype(np.int64)


# Fitted to the measured peak RSS at 1.5 .. 0.5 um (benchmarks/bench_memory.py): the imports
# (fixed), then the smoothed area fields, transport fields and the profile's solver (per voxel).
FIXED_BYTES = 370 * MIB
BYTES_PER_VOXEL = 215


def estimate_memory(electrode: Electrode) -> MemoryEstimate:
    """Expected peak resident memory of :func:`characterization` on ``electrode``."""
    voxels = int(electrode.phases.size)
    return MemoryEstimate("characterize", FIXED_BYTES + BYTES_PER_VOXEL * voxels, voxels)


def characterization(
    electrode: Electrode,
    sigma_vox: float = DEFAULT_SIGMA_VOX,
    progress: bool = False,
    force: bool = False,
) -> Characterization:
    """Particle table plus the electrolyte and electrolyte + CBD depth profiles of ``electrode``.

    Refused (:class:`~voxode.resources.ResourceError`) when its memory estimate exceeds the
    memory available, unless ``force``.

    Parameters
    ----------
    electrode : Electrode
        The electrode to measure.
    sigma_vox : float
        Width (voxels) of the Gaussian that smooths surfaces for the interface areas.
    progress : bool
        Show a progress bar on stderr.
    force : bool
        Start even when the memory estimate exceeds the memory available.

    Returns
    -------
    Characterization
        The particle table (lengths in um, areas in um^2, volumes in um^3) and the depth
        profiles of tau for the electrolyte and for electrolyte + CBD.
    """
    check_memory(estimate_memory(electrode), force, hint="use a coarser image")
    h = electrode.voxel_um
    labels = electrode.particle_ids
    flat = labels.ravel()
    ids, counts = np.unique(flat[flat > 0], return_counts=True)
    ids = ids.astype(np.int64)
    where = np.searchsorted(ids, flat[flat > 0])
    coords = np.unravel_index(np.flatnonzero(flat > 0), labels.shape)
    centroid = [
        (np.bincount(where, c.astype(np.float64), ids.size) / np.maximum(counts, 1) + 0.5) * h
        for c in coords
    ]
    areas = _face_areas(electrode, ids, sigma_vox)
    cut, separator_faces = _box_face_counts(labels, ids)
    border = np.isin(ids, border_particles(labels))
    volume = counts * h**3
    surface = (areas["total"] + cut) * h**2
    profile_e = depth_profile(electrode_fields(electrode, include_cbd=False), h, progress=progress)
    profile_ec = depth_profile(electrode_fields(electrode, include_cbd=True), h, progress=progress)
    table = pd.DataFrame(
        {
            "id": ids,
            "parent": _parents(electrode, ids),
            "layer": _layers(electrode, ids, centroid[2]),
            "volume_um3": volume,
            "d_eq_um": np.cbrt(6.0 * volume / np.pi),
            "active_area_um2": (areas["active"] + separator_faces) * h**2,
            "cbd_contact_area_um2": areas["cbd"] * h**2,
            "nmc_contact_area_um2": areas["nmc"] * h**2,
            "centroid_x_um": centroid[0],
            "centroid_y_um": centroid[1],
            "centroid_z_um": centroid[2],
            "sphericity": np.pi ** (1.0 / 3.0) * (6.0 * volume) ** (2.0 / 3.0) / surface,
            "border": border,
            "tau_electrolyte": profile_e.tau_at(centroid[2]),
            "tau_electrolyte_cbd": profile_ec.tau_at(centroid[2]),
        },
        columns=list(COLUMNS),
    )
    return Characterization(particles=table, electrolyte=profile_e, electrolyte_cbd=profile_ec)


def characterize(
    electrode: Electrode,
    sigma_vox: float = DEFAULT_SIGMA_VOX,
    progress: bool = False,
    force: bool = False,
) -> pd.DataFrame:
    """One row per particle of ``electrode`` with its geometric features (see module docstring).

    Parameters
    ----------
    electrode, sigma_vox, progress, force
        As in :func:`characterization` (``sigma_vox`` in voxels).

    Returns
    -------
    pandas.DataFrame
        One row per particle; units in the column names (um, um^2, um^3).
    """
    return characterization(electrode, sigma_vox, progress, force).particles
