"""The finite-volume grid of a half cell: NMC electrode voxels | homogenised separator | Li foil.

Cell-centred finite volumes on the electrode's voxels (edge h) plus a separator of full lateral
resolution whose layers grow geometrically from h at both ends (at most ``SEPARATOR_GROWTH``
per layer). Unknowns live on sets of cells:

- ``solid`` (phi_s): NMC and CBD voxels 6-connected to the current collector (z = 0);
- ``nmc`` (c_s): the NMC voxels among them; or, when the parameter set's
  ``active.solid_diffusion`` is ``spheres``, the radial shells of each particle's
  volume-equivalent sphere (``SPHERE_SHELLS`` per particle, refined toward the surface, the
  outer shell exchanging with all of the particle's reactive faces);
- ``liquid`` (c_e, phi_e): pore and CBD voxels 6-connected to the separator, then the
  separator cells layer by layer (CBD voxels only when the parameter set's CBD holds
  electrolyte: a ``blocking`` CBD carries no ions and its NMC contacts do not react).

Disconnected solid or liquid voxels carry no unknowns: they cannot take part in the reaction.
Faces are stored per kind with their geometric conductance (area / distance, m) or area
(m^2); the model multiplies by the state-dependent coefficient. Lateral faces are no-flux.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from voxode.characterize.areas import interface_faces
from voxode.characterize.features import CBD_REGION, PORE_REGION, region_labels
from voxode.connectivity import connected_to_planes
from voxode.electrochem.materials import ParameterSet
from voxode.electrode import CBD, NMC, PORE, Electrode
from voxode.errors import GridError

SEPARATOR_GROWTH = 1.3
# Shells per particle sphere; their outer radii are R (1 - (k / n)^2), k = 0..n-1, so the outer
# shell is R / n^2 thick. With 12 shells the slowly diffusing single particle of
# benchmarks/bench_particle_diffusion.py (1C) is 1.2 % above PyBaMM's DFN with 60 radial
# points, at 1 and at 0.5 um voxels.
SPHERE_SHELLS = 12


@dataclass(frozen=True)
class Pairs:
    """Faces between two cells of one unknown set: indices
    ``i``, ``j`` and geometric factor ``g``."""

    i: np.ndarray
    j: np.ndarray
    g: np.ndarray


@dataclass(frozen=True)
class Grid:
    """Index sets, volumes and faces of a half cell (SI units: m, m^2, m^3)."""

    shape: tuple[int, int, int]
    h_m: float
    area_m2: float  # cross-section of the box (x-y)
    solid_voxel: np.ndarray  # flat voxel index of each solid cell
    nmc_voxel: np.ndarray  # flat voxel index of each NMC voxel with unknowns
    voxel_nmc: np.ndarray  # NMC cell of each of those voxels (itself, or its sphere's shell)
    nmc_volume_m3: np.ndarray  # volume of each NMC cell
    nmc_particle: np.ndarray  # particle id of each NMC cell (0: unassigned)
    liquid_voxel: np.ndarray  # flat voxel index of each electrode liquid cell
    n_liquid: int  # electrode liquid cells + separator cells
    liquid_volume_m3: np.ndarray  # electrolyte volume of each liquid cell
    separator_dz_m: np.ndarray  # thickness of each separator layer, from the electrode
    diffusion: Pairs  # NMC-NMC faces within one particle (or shell), g = area/distance
    electronic: Pairs  # solid-solid faces, g = area/distance * harmonic sigma (S)
    collector: Pairs  # i: solid cell at z = 0, g = conductance to the collector (S)
    ionic: Pairs  # liquid-liquid faces, g = area/distance * harmonic (D/D0)
    reaction_nmc: np.ndarray  # NMC cell of each reactive face
    reaction_solid: np.ndarray  # solid cell (the NMC voxel) of each reactive face
    reaction_liquid: np.ndarray  # liquid cell of each reactive face
    reaction_area_m2: np.ndarray  # smooth, wetted area of each reactive face
    foil_liquid: np.ndarray  # separator cells facing the Li foil
    foil_area_m2: np.ndarray
    disconnected_nmc_voxels: int  # NMC voxels without an electronic path or electrolyte

    @property
    def n_solid(self) -> int:
        return int(self.solid_voxel.size)

    @property
    def n_nmc(self) -> int:
        return int(self.nmc_volume_m3.size)


def separator_layers_m(thickness_m: float, h_m: float) -> np.ndarray:
    """Layer thicknesses growing by ``SEPARATOR_GROWTH``
    from h at both ends, summing to the thickness."""
    half = []
    total, dz = 0.0, h_m
    while total + 2.0 * dz < thickness_m:
        half.append(dz)
        total += 2.0 * dz
        dz *= SEPARATOR_GROWTH
    middle = thickness_m - total
    return np.array(half + [middle] + half[::-1])


def _neighbour_pairs(mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(flat lo, flat hi, axis) of faces whose both voxels are in ``mask``, per axis."""
    flat = np.arange(mask.size, dtype=np.int64).reshape(mask.shape)
    out = []
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(None, -1)
        hi[ax] = slice(1, None)
        both = mask[tuple(lo)] & mask[tuple(hi)]
        out.append((flat[tuple(lo)][both], flat[tuple(hi)][both], ax))
    return out


def _harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a > 0) & (b > 0), 2.0 * a * b / (a + b), 0.0)


def _spheres(
    particle_ids: np.ndarray, nmc_mask: np.ndarray, h: float, shells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Pairs]:
    """Radial shells of the volume-equivalent sphere of each particle in ``nmc_mask``.

    NMC voxels without a particle id are grouped by 6-connected component. Returns the shell
    of each NMC voxel (in ``np.flatnonzero(nmc_mask)`` order; by the voxel's depth below the
    particle's surface, for output fields), the outer shell of each NMC voxel's particle (the
    shell its reactive faces exchange with), the volume of each shell (m^3; a particle's shells
    hold its voxels' volume), one NMC voxel of each shell's particle, and the faces between
    adjacent shells (g = 4 pi r^2 / distance between shell centres, m).
    """
    ids = particle_ids.astype(np.int64)
    loose = nmc_mask & (ids == 0)
    if loose.any():
        labels, _ = ndimage.label(loose)
        ids = np.where(loose, ids.max() + labels, ids)
    nmc_ids = ids.ravel()[np.flatnonzero(nmc_mask)]
    _, first, group, count = np.unique(
        nmc_ids, return_index=True, return_inverse=True, return_counts=True
    )
    radius = (3.0 * count * h**3 / (4.0 * np.pi)) ** (1.0 / 3.0)
    depth_share = (np.arange(shells + 1) / shells) ** 2
    edges = radius[:, None] * (1.0 - depth_share)[None, :]  # outer radius first, 0 last
    volume = 4.0 / 3.0 * np.pi * (edges[:, :-1] ** 3 - edges[:, 1:] ** 3)
    centre = 0.5 * (edges[:, :-1] + edges[:, 1:])
    cell = np.arange(radius.size * shells).reshape(radius.size, shells)
    g = 4.0 * np.pi * edges[:, 1:-1] ** 2 / (centre[:, :-1] - centre[:, 1:])
    diffusion = Pairs(cell[:, :-1].ravel(), cell[:, 1:].ravel(), g.ravel())

    # depth of each voxel centre below its particle's surface (voxels next to another phase or
    # particle are the surface), placed on the sphere's shells
    owner = np.where(nmc_mask, ids, -1)
    interior = nmc_mask.copy()
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        differ = owner[tuple(lo)] != owner[tuple(hi)]
        interior[tuple(lo)] &= ~differ
        interior[tuple(hi)] &= ~differ
    depth = (ndimage.distance_transform_edt(interior)[nmc_mask] + 0.5) * h
    share = np.clip(depth / radius[group], 0.0, 1.0)
    shell = np.minimum((shells * np.sqrt(share)).astype(np.int64), shells - 1)
    return cell[group, shell], cell[group, 0], volume.ravel(), np.repeat(first, shells), diffusion


def build_grid(electrode: Electrode, params: ParameterSet) -> Grid:
    """The grid of ``electrode`` in a half cell with the separator of ``params``.

    Raises GridError when the electrolyte does not connect the separator to the current
    collector or when no NMC voxel has both an electronic path to the collector and electrolyte.
    """
    nx, ny, nz = electrode.shape
    h = electrode.voxel_um * 1e-6
    phases = electrode.phases
    eps_n = electrode.cbd_nanoporosity_planes()[None, None, :] * np.ones(phases.shape)
    cbd = params.cbd

    conducts_ions = (phases == PORE) | ((phases == CBD) & (cbd.liquid_fraction(eps_n) > 0))
    liquid_mask = connected_to_planes(conducts_ions, planes=(-1,))
    if not liquid_mask[:, :, 0].any():
        raise GridError(
            "the electrolyte does not connect the separator to the current collector "
            "(no percolating pore path); the electrode cannot be discharged"
        )
    solid_mask = connected_to_planes(phases != PORE, planes=(0,))
    nmc_mask = solid_mask & (phases == NMC)
    if not nmc_mask.any():
        raise GridError("no NMC voxel has an electronic path to the current collector")

    number_solid = np.full(phases.size, -1, dtype=np.int64)
    solid_voxel = np.flatnonzero(solid_mask)
    number_solid[solid_voxel] = np.arange(solid_voxel.size)
    nmc_voxel = np.flatnonzero(nmc_mask)
    number_nmc = np.full(phases.size, -1, dtype=np.int64)
    number_nmc[nmc_voxel] = np.arange(nmc_voxel.size)
    number_liquid = np.full(phases.size, -1, dtype=np.int64)
    liquid_voxel = np.flatnonzero(liquid_mask)
    number_liquid[liquid_voxel] = np.arange(liquid_voxel.size)

    flat_phase = phases.ravel()
    flat_eps = eps_n.ravel()
    sigma = np.where(flat_phase == NMC, params.active.conductivity_s_m, params.cbd.conductivity_s_m)
    rel_d = np.where(
        flat_phase == PORE, 1.0, cbd.relative_diffusivity(flat_eps)
    )  # D/D0 of liquid voxels
    wet = np.where(flat_phase == PORE, 1.0, cbd.liquid_fraction(flat_eps))  # liquid fraction

    # particle-internal diffusion faces (same id; unassigned NMC voxels diffuse among themselves)
    ids = electrode.particle_ids.ravel()
    di, dj = [], []
    for lo, hi, _ in _neighbour_pairs(nmc_mask):
        same = ids[lo] == ids[hi]
        di.append(number_nmc[lo[same]])
        dj.append(number_nmc[hi[same]])
    diffusion = Pairs(np.concatenate(di), np.concatenate(dj), np.full(sum(map(len, di)), h))

    ei, ej, eg = [], [], []
    for lo, hi, _ in _neighbour_pairs(solid_mask):
        ei.append(number_solid[lo])
        ej.append(number_solid[hi])
        eg.append(h * _harmonic(sigma[lo], sigma[hi]))
    electronic = Pairs(np.concatenate(ei), np.concatenate(ej), np.concatenate(eg))
    bottom = np.flatnonzero(solid_mask[:, :, 0].ravel())
    bottom_voxel = np.ravel_multi_index(
        (bottom // ny, bottom % ny, np.zeros_like(bottom)), phases.shape
    )
    collector = Pairs(
        number_solid[bottom_voxel],
        np.zeros(bottom.size, dtype=np.int64),
        2.0 * h * sigma[bottom_voxel],
    )

    # liquid: electrode faces, electrode -> separator, separator faces
    sep = params.separator
    dz = separator_layers_m(sep.thickness_um * 1e-6, h)
    f_sep = sep.porosity**sep.bruggeman
    n_e = liquid_voxel.size
    n_layer = nx * ny
    sep_index = n_e + np.arange(dz.size * n_layer).reshape(dz.size, nx, ny)
    ii, jj, gg = [], [], []
    for lo, hi, _ in _neighbour_pairs(liquid_mask):
        ii.append(number_liquid[lo])
        jj.append(number_liquid[hi])
        gg.append(h * _harmonic(rel_d[lo], rel_d[hi]))
    top = liquid_mask[:, :, -1]
    top_voxel = np.flatnonzero(
        np.broadcast_to(np.arange(nz) == nz - 1, phases.shape).ravel() & liquid_mask.ravel()
    )
    ii.append(number_liquid[top_voxel])
    jj.append(sep_index[0][top])
    gg.append(h * h / (0.5 * h / rel_d[top_voxel] + 0.5 * dz[0] / f_sep))
    for k in range(dz.size):
        layer = sep_index[k]
        ii += [layer[:-1, :].ravel(), layer[:, :-1].ravel()]
        jj += [layer[1:, :].ravel(), layer[:, 1:].ravel()]
        gg.append(np.full(ii[-2].size + ii[-1].size, dz[k] * f_sep))
        if k + 1 < dz.size:
            ii.append(layer.ravel())
            jj.append(sep_index[k + 1].ravel())
            gg.append(np.full(n_layer, h * h * f_sep / (0.5 * (dz[k] + dz[k + 1]))))
    ionic = Pairs(np.concatenate(ii), np.concatenate(jj), np.concatenate(gg))
    liquid_volume = np.concatenate(
        [h**3 * wet[liquid_voxel], np.repeat(sep.porosity * h * h * dz, n_layer)]
    )

    # reactive faces: NMC | pore or CBD (interior, smooth-area weights), NMC | separator (flat)
    regions, rank = region_labels(electrode)
    faces = interface_faces(regions, rank)
    lo, hi = faces.lo, faces.hi
    nmc_lo = (flat_phase[lo] == NMC) & np.isin(faces.label_hi, (PORE_REGION, CBD_REGION))
    nmc_hi = (flat_phase[hi] == NMC) & np.isin(faces.label_lo, (PORE_REGION, CBD_REGION))
    s_vox = np.concatenate([lo[nmc_lo], hi[nmc_hi]])
    l_vox = np.concatenate([hi[nmc_lo], lo[nmc_hi]])
    weight = np.concatenate([faces.weight[nmc_lo], faces.weight[nmc_hi]])
    keep = (number_nmc[s_vox] >= 0) & (number_liquid[l_vox] >= 0)
    r_nmc = [number_nmc[s_vox[keep]]]
    r_liq = [number_liquid[l_vox[keep]]]
    r_area = [h * h * weight[keep] * wet[l_vox[keep]]]
    top_nmc = nmc_mask[:, :, -1]
    top_nmc_voxel = np.flatnonzero(
        np.broadcast_to(np.arange(nz) == nz - 1, phases.shape).ravel() & nmc_mask.ravel()
    )
    r_nmc.append(number_nmc[top_nmc_voxel])
    r_liq.append(sep_index[0][top_nmc])
    r_area.append(np.full(top_nmc_voxel.size, h * h * sep.porosity))
    reaction_nmc = np.concatenate(r_nmc)
    if reaction_nmc.size == 0:
        raise GridError("no NMC surface touches both the electronic network and the electrolyte")
    reaction_solid = number_solid[nmc_voxel[reaction_nmc]]
    voxel_nmc = np.arange(nmc_voxel.size)
    nmc_volume = np.full(nmc_voxel.size, h**3)
    nmc_particle = ids[nmc_voxel].astype(np.int64)
    if params.active.solid_diffusion == "spheres":
        voxel_nmc, outer, nmc_volume, representative, diffusion = _spheres(
            electrode.particle_ids, nmc_mask, h, SPHERE_SHELLS
        )
        reaction_nmc = outer[reaction_nmc]
        nmc_particle = nmc_particle[representative]

    return Grid(
        shape=(nx, ny, nz),
        h_m=h,
        area_m2=nx * ny * h * h,
        solid_voxel=solid_voxel,
        nmc_voxel=nmc_voxel,
        voxel_nmc=voxel_nmc,
        nmc_volume_m3=nmc_volume,
        nmc_particle=nmc_particle,
        liquid_voxel=liquid_voxel,
        n_liquid=n_e + dz.size * n_layer,
        liquid_volume_m3=liquid_volume,
        separator_dz_m=dz,
        diffusion=diffusion,
        electronic=electronic,
        collector=collector,
        ionic=ionic,
        reaction_nmc=reaction_nmc,
        reaction_solid=reaction_solid,
        reaction_liquid=np.concatenate(r_liq),
        reaction_area_m2=np.concatenate(r_area),
        foil_liquid=sep_index[-1].ravel(),
        foil_area_m2=np.full(n_layer, h * h),
        disconnected_nmc_voxels=int(np.count_nonzero(phases == NMC) - nmc_voxel.size),
    )
