"""Stochastic electrode generation: recipe -> Electrode.

Layers are generated from the separator down. Each layer draws from its own random stream
(its ``seed``, or the recipe seed with the layer's position counted from the separator), packs
its particles below the fixed particles of the layers above, is cut flat at its upper plane,
and gets its carbon-binder domain inside its own slab. So two recipes that share the upper
layers (same recipes and seeds) share them voxel for voxel, e.g. paper-pristine and paper-bilayer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from voxode import __version__
from voxode.electrode import CBD, NMC, PORE, Electrode, Layer, cbd_nanoporosity_planes
from voxode.errors import PackingError
from voxode.generate.cbd import cbd_ranking, score_ranking
from voxode.generate.coarse_cbd import match_tortuosity
from voxode.generate.layers import LayerParticles, pack_layer
from voxode.generate.memory import estimate_memory
from voxode.generate.pore_paths import place_cbd
from voxode.generate.shapes import N_HARMONICS
from voxode.generate.voxelize import (
    ParticleArrays,
    Rasterised,
    coverage_fraction,
    rasterise,
    repair_connectivity,
)
from voxode.recipe import Recipe
from voxode.resources import check_memory

__all__ = ["MAX_PACKING_ATTEMPTS", "generate", "layer_rngs", "particle_arrays", "own_volume_kept"]

_COEFF_COLUMNS = [f"c{i}" for i in range(N_HARMONICS)]


MAX_PACKING_ATTEMPTS = 3  # seeds tried per layer: the recipe's own stream, then derived ones
# CG tolerance of the tortuosity solves that match the coarse CBD (tau to ~1e-8, quadratic)
TAU_SOLVE_RTOL = 1e-4


def layer_rngs(
    recipe: Recipe, index: int, attempt: int = 0
) -> tuple[np.random.Generator, np.random.Generator]:
    """(packing, CBD) random generators of layer ``index``; independent of the layers below it.

    ``attempt`` > 0 derives another stream from the same seed (a packing retry).

    Parameters
    ----------
    recipe : Recipe
        The recipe.
    index : int
        Layer index, current collector first.
    attempt : int
        Packing attempt (0: the seed's own stream).

    Returns
    -------
    tuple of numpy.random.Generator
        (packing, CBD) generators.
    """
    layer = recipe.layers[index]
    from_top = len(recipe.layers) - 1 - index
    key = layer.seed if layer.seed is not None else [recipe.seed, from_top]
    seq = np.random.SeedSequence(key if attempt == 0 else [*np.atleast_1d(key), attempt])
    pack_seq, cbd_seq = seq.spawn(2)
    return np.random.default_rng(pack_seq), np.random.default_rng(cbd_seq)


def generate(
    recipe: Recipe, on_stage: Callable[[str], None] | None = None, force: bool = False
) -> Electrode:
    """Generate the electrode of a recipe (deterministic for a given recipe and seed).

    Each layer is packed with its seed's stream; when that packing fails, with up to
    ``MAX_PACKING_ATTEMPTS - 1`` streams derived from the same seed (recorded in the provenance as
    ``packing_attempts``). The CBD is laid on the recipe's CBD grid and rasterised at the voxel size
    (see :mod:`voxode.generate.cbd`) without closing the pore space
    (:mod:`voxode.generate.pore_paths`). Refused (:class:`~voxode.resources.ResourceError`) when its
    memory estimate (:func:`~voxode.generate.memory.estimate_memory`) exceeds the memory available,
    unless ``force``.

    Parameters
    ----------
    recipe : Recipe
        The recipe (its voxel size in um and seed included).
    on_stage : callable, optional
        Called with a message as each stage starts.
    force : bool
        Start even when the memory estimate exceeds the memory available.

    Returns
    -------
    Electrode
        Phases, particle ids and the particle table (um), with the recipe and provenance.
    """
    check_memory(estimate_memory(recipe), force, hint="use a coarser --voxel-um")
    say = on_stage or (lambda _msg: None)
    bounds = recipe.layer_bounds_um()
    placed, attempts = _pack_layers(recipe, say)
    layer_of = [
        np.full(len(lp.d_eq_um), index)
        for lp, index in zip(placed, reversed(range(len(recipe.layers))), strict=True)
    ]
    arrays = ParticleArrays.concat([lp.arrays for lp in placed])
    say("voxelising particles")
    ids, ras, present = _voxelise(arrays, recipe, recipe.voxel_um)
    phases = np.where(ids > 0, NMC, PORE).astype(np.uint8)
    layers = [
        Layer(
            name=lay.name,
            z0_um=z0,
            z1_um=z1,
            cbd_nanoporosity=lay.cbd_nanoporosity,
            nmc_density_g_cm3=lay.densities_g_cm3.nmc,
            specific_capacity_mah_g=recipe.specific_capacity_mah_g,
        )
        for lay, (z0, z1) in zip(recipe.layers, bounds, strict=True)
    ]
    say("carbon-binder domain")
    cbd_info = _add_cbd(recipe, arrays, phases, attempts, layers)
    table = _particle_table(recipe, placed, layer_of, ras.particle[present], ras.shift_um[present])
    provenance = {
        "source": "voxode.generate",
        "seed": recipe.seed,
        "voxode_version": __version__,
        "packing_attempts": {
            lay.name: a + 1 for lay, a in zip(recipe.layers, attempts, strict=True)
        },
    } | cbd_info
    return Electrode(
        phases=phases,
        particle_ids=ids,
        voxel_um=recipe.voxel_um,
        particles=table,
        layers=layers,
        recipe=recipe.model_dump(mode="json"),
        provenance=provenance,
    )


def _pack_layers(
    recipe: Recipe, say: Callable[[str], None]
) -> tuple[list[LayerParticles], list[int]]:
    """Particles of every layer, top layer first, and the attempt (0 =
    the seed's own stream) of each layer, in recipe order."""
    placed: list[LayerParticles] = []
    attempts: list[int] = [0] * len(recipe.layers)
    for index in reversed(range(len(recipe.layers))):
        name = recipe.layers[index].name
        for attempt in range(MAX_PACKING_ATTEMPTS):
            say(f"packing layer '{name}'" + (f" (attempt {attempt + 1})" if attempt else ""))
            try:
                placed.append(
                    pack_layer(recipe, index, placed, layer_rngs(recipe, index, attempt)[0])
                )
            except PackingError as exc:
                if attempt == MAX_PACKING_ATTEMPTS - 1:
                    raise PackingError(
                        f"{exc} (tried {MAX_PACKING_ATTEMPTS} streams of seed {recipe.seed})"
                    ) from None
                continue
            attempts[index] = attempt
            break
    return placed, attempts


def _voxelise(
    arrays: ParticleArrays, recipe: Recipe, voxel_um: float
) -> tuple[np.ndarray, Rasterised, np.ndarray]:
    """Particle ids on the grid of ``voxel_um`` (each one 6-connected piece,
    numbered from 1), the rasterisation, and the instances present in the ids."""
    ras = rasterise(arrays, voxel_um, recipe.grid_shape(voxel_um))
    repair_connectivity(ras.labels)
    counts = np.bincount(ras.labels.ravel(), minlength=len(ras.particle) + 1)
    present = np.flatnonzero(counts[1:] > 0)
    remap = np.zeros(len(counts), np.int32)
    remap[present + 1] = np.arange(1, len(present) + 1, dtype=np.int32)
    return remap[ras.labels], ras, present


def _add_cbd(
    recipe: Recipe,
    arrays: ParticleArrays,
    phases: np.ndarray,
    attempts: list[int],
    layers: list[Layer],
) -> dict[str, Any]:
    """Lay every layer's CBD on the CBD grid and rasterise it at the voxel
    size into ``phases`` (in place), keeping the pore space connected and, at
    a coarser voxel, the tortuosity with CBD; return provenance."""
    fine_um, voxel_um = recipe.cbd_grid_um, recipe.voxel_um
    fine = (
        phases
        if fine_um == voxel_um
        else np.where(_voxelise(arrays, recipe, fine_um)[0] > 0, NMC, PORE)
    )

    def laid(index: int, slab: np.ndarray, count: int) -> np.ndarray:
        layer = recipe.layers[index]
        return cbd_ranking(
            slab,
            count,
            layer.fibre_volume_share,
            layer.cbd,
            fine_um,
            layer_rngs(recipe, index, attempts[index])[1],
        )

    released = _place_layers(recipe, fine, fine_um, laid)
    info: dict[str, Any] = {"cbd_grid_um": fine_um}
    if fine is phases:
        return info | {"cbd_throat_voxels_left_open": released}
    from voxode.characterize.tortuosity import flux_field, tortuosity
    from voxode.characterize.transport import phase_fields

    def tau_with_cbd(slab: np.ndarray, eps_n: np.ndarray) -> float:
        return tortuosity(phase_fields(slab, (PORE, CBD), eps_n), rtol=TAU_SOLVE_RTOL).tau

    eps_fine = cbd_nanoporosity_planes(layers, fine_um, fine.shape[2])
    eps = cbd_nanoporosity_planes(layers, voxel_um, phases.shape[2])
    cover = coverage_fraction(fine == CBD, fine_um, phases.shape, voxel_um)
    released, weights, targets = 0, {}, {}
    for index in reversed(
        range(len(recipe.layers))
    ):  # each layer matched in its own slab: designs share layers
        layer = recipe.layers[index]
        f0, f1 = recipe.layer_planes(index, fine_um)
        k0, k1 = recipe.layer_planes(index, voxel_um)
        count = int(round(layer.cbd_phase_fraction * phases[:, :, k0:k1].size))
        scale_vox = layer.cbd.binder_scale_um / voxel_um

        def place(
            image: np.ndarray,
            score: np.ndarray,
            k0: int = k0,
            k1: int = k1,
            count: int = count,
            scale_vox: float = scale_vox,
            name: str = layer.name,
        ) -> int:
            slab = image[:, :, k0:k1]
            ranking = _to_full(score_ranking(slab, score, scale_vox), slab.shape, k0, image.shape)
            return place_cbd(image, ranking, count, k0, name)

        targets[layer.name] = tau_with_cbd(fine[:, :, f0:f1], eps_fine[f0:f1])
        flux = flux_field(phases[:, :, k0:k1] != NMC)
        placed, n_open, weights[layer.name] = match_tortuosity(
            phases,
            cover[:, :, k0:k1],
            flux,
            targets[layer.name],
            place,
            lambda image, k0=k0, k1=k1: tau_with_cbd(image[:, :, k0:k1], eps[k0:k1]),
        )
        phases[...] = placed
        released += n_open
    return info | {
        "cbd_throat_voxels_left_open": released,
        "cbd_flux_weight": weights,
        "tau_electrolyte_cbd_of_cbd_grid": targets,
    }


def _place_layers(
    recipe: Recipe,
    phases: np.ndarray,
    voxel_um: float,
    rank: Callable[[int, np.ndarray, int], np.ndarray],
) -> int:
    """CBD of every layer, from the separator down, into ``phases`` (grid of
    ``voxel_um``), to its CBD phase fraction; ``rank(index, slab, count)``
    orders the slab's pore voxels. Returns the throat voxels left open."""
    released = 0
    for index in reversed(range(len(recipe.layers))):
        k0, k1 = recipe.layer_planes(index, voxel_um)
        slab = phases[:, :, k0:k1]
        count = int(round(recipe.layers[index].cbd_phase_fraction * slab.size))
        ranking = _to_full(rank(index, slab, count), slab.shape, k0, phases.shape)
        released += place_cbd(phases, ranking, count, k0, recipe.layers[index].name)
    return released


def _to_full(
    flat_in_slab: np.ndarray, slab_shape: tuple[int, ...], k0: int, shape: tuple[int, ...]
) -> np.ndarray:
    """Flat indices in a z slab starting at plane ``k0`` -> flat indices in the whole image."""
    x, y, z = np.unravel_index(flat_in_slab, slab_shape)
    return np.ravel_multi_index((x, y, z + k0), shape)


def _particle_table(
    recipe: Recipe,
    placed: list[LayerParticles],
    layer_of: list[np.ndarray],
    particle: np.ndarray,
    shift_um: np.ndarray,
) -> pd.DataFrame:
    """One row per particle instance in the box (periodic
    images are separate particles with a common parent)."""
    arrays = ParticleArrays.concat([lp.arrays for lp in placed])
    layer = np.concatenate(layer_of)
    pop_index = np.concatenate([lp.population for lp in placed])
    names = np.array(
        [recipe.layers[layer[i]].populations[pop_index[i]].name for i in range(len(layer))]
    )
    d_eq = np.concatenate([lp.d_eq_um for lp in placed])
    centre = arrays.centre[particle] + np.column_stack([shift_um, np.zeros(len(particle))])
    data = {
        "id": np.arange(1, len(particle) + 1, dtype=np.int32),
        "layer": layer[particle].astype(np.int32),
        "population": names[particle],
        "parent": particle.astype(np.int32),
        "x_um": centre[:, 0],
        "y_um": centre[:, 1],
        "z_um": centre[:, 2],
        "d_eq_um": d_eq[particle],
        "r0_um": arrays.r0[particle],
        "bound_um": arrays.bound[particle],
        "aspect": arrays.aspect[particle],
        "axis_x": arrays.axis[particle, 0],
        "axis_y": arrays.axis[particle, 1],
        "axis_z": arrays.axis[particle, 2],
        "clip_z_max_um": arrays.clip_z_max[particle],
    }
    for k, col in enumerate(_COEFF_COLUMNS):
        data[col] = arrays.coeffs[particle, k]
    return pd.DataFrame(data)


def particle_arrays(table: pd.DataFrame) -> ParticleArrays:
    """The analytic particles of a generated electrode's particle table (instances, already
    shifted).

    Parameters
    ----------
    table : pandas.DataFrame
        The particle table of a generated electrode (positions and sizes in um).

    Returns
    -------
    ParticleArrays
        Centres, radii and shape coefficients (um), one per particle instance.
    """
    return ParticleArrays(
        centre=table[["x_um", "y_um", "z_um"]].to_numpy(float),
        r0=table["r0_um"].to_numpy(float),
        bound=table["bound_um"].to_numpy(float),
        axis=table[["axis_x", "axis_y", "axis_z"]].to_numpy(float),
        aspect=table["aspect"].to_numpy(float),
        coeffs=table[_COEFF_COLUMNS].to_numpy(float),
        clip_z_max=table["clip_z_max_um"].to_numpy(float),
    )


def own_volume_kept(electrode: Electrode) -> np.ndarray:
    """Per particle: voxels it holds / voxels inside its own (un-overlapped, in-box) shape.

    Parameters
    ----------
    electrode : Electrode
        A generated electrode (with its analytic particle list).

    Returns
    -------
    ndarray of float
        Fraction (0 to 1) per particle id.
    """
    if "r0_um" not in electrode.particles:
        raise PackingError(
            "own_volume_kept needs a generated electrode (its analytic particle list)"
        )
    ras = rasterise(
        particle_arrays(electrode.particles), electrode.voxel_um, electrode.shape, periodic=False
    )
    held = np.bincount(electrode.particle_ids.ravel(), minlength=electrode.n_particles + 1)[1:]
    own = np.zeros(electrode.n_particles)
    own[ras.particle] = ras.own_voxels
    return held / np.maximum(own, 1)
