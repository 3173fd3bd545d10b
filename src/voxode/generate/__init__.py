"""Stochastic electrode generation: recipe -> Electrode.

Layers are generated from the separator down. Each layer draws from its own random stream
(its ``seed``, or the recipe seed with the layer's position counted from the separator), packs
its particles below the fixed particles of the layers above, is cut flat at its upper plane,
and gets its carbon-binder domain inside its own slab. So two recipes that share the upper
layers (same recipes and seeds) share them voxel for voxel, e.g. paper-pristine and paper-bilayer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import ndimage

from voxode import __version__
from voxode.electrode import NMC, PORE, Electrode, Layer
from voxode.errors import PackingError
from voxode.generate.cbd import add_cbd
from voxode.generate.layers import LayerParticles, pack_layer
from voxode.generate.memory import estimate_memory
from voxode.generate.shapes import N_HARMONICS
from voxode.generate.voxelize import ParticleArrays, rasterise, repair_connectivity
from voxode.recipe import Recipe
from voxode.resources import check_memory

__all__ = ["generate", "layer_rngs", "particle_arrays", "own_volume_kept", "electrolyte_percolates"]

_COEFF_COLUMNS = [f"c{i}" for i in range(N_HARMONICS)]


def layer_rngs(recipe: Recipe, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(packing, CBD) random generators of layer ``index``; independent of the layers below it."""
    layer = recipe.layers[index]
    from_top = len(recipe.layers) - 1 - index
    seq = np.random.SeedSequence(layer.seed if layer.seed is not None else [recipe.seed, from_top])
    pack_seq, cbd_seq = seq.spawn(2)
    return np.random.default_rng(pack_seq), np.random.default_rng(cbd_seq)


def generate(recipe: Recipe, on_stage: Callable[[str], None] | None = None, force: bool = False) -> Electrode:
    """Generate the electrode of a recipe (deterministic for a given recipe and seed).

    Refused (:class:`~voxode.resources.ResourceError`) when its memory estimate
    (:func:`~voxode.generate.memory.estimate_memory`) exceeds the memory available, unless ``force``.
    """
    check_memory(estimate_memory(recipe), force, hint="use a coarser --voxel-um")
    say = on_stage or (lambda _msg: None)
    bounds = recipe.layer_bounds_um()
    placed: list[LayerParticles] = []  # top layer first
    layer_of: list[np.ndarray] = []
    for index in reversed(range(len(recipe.layers))):
        say(f"packing layer '{recipe.layers[index].name}'")
        lp = pack_layer(recipe, index, placed, layer_rngs(recipe, index)[0])
        placed.append(lp)
        layer_of.append(np.full(len(lp.d_eq_um), index))
    arrays = ParticleArrays.concat([lp.arrays for lp in placed])
    say("voxelising particles")
    ras = rasterise(arrays, recipe.voxel_um, recipe.grid_shape(recipe.voxel_um))
    repair_connectivity(ras.labels)
    counts = np.bincount(ras.labels.ravel(), minlength=len(ras.particle) + 1)
    present = np.flatnonzero(counts[1:] > 0)
    remap = np.zeros(len(counts), np.int32)
    remap[present + 1] = np.arange(1, len(present) + 1, dtype=np.int32)
    ids = remap[ras.labels]
    phases = np.where(ids > 0, NMC, PORE).astype(np.uint8)
    for index in reversed(range(len(recipe.layers))):
        say(f"carbon-binder domain of layer '{recipe.layers[index].name}'")
        k0, k1 = recipe.layer_planes(index, recipe.voxel_um)
        slab = phases[:, :, k0:k1]
        layer = recipe.layers[index]
        add_cbd(slab, int(round(layer.cbd_phase_fraction * slab.size)), layer.fibre_volume_share, layer.cbd,
                recipe.voxel_um, layer_rngs(recipe, index)[1])
    if not electrolyte_percolates(phases):
        raise PackingError("the generated pore space does not connect the separator to the current collector: "
                           "raise porosity or lower the CBD content")
    table = _particle_table(recipe, placed, layer_of, ras.particle[present], ras.shift_um[present])
    layers = [Layer(name=lay.name, z0_um=z0, z1_um=z1, cbd_nanoporosity=lay.cbd_nanoporosity,
                    nmc_density_g_cm3=lay.densities_g_cm3.nmc, specific_capacity_mah_g=recipe.specific_capacity_mah_g)
              for lay, (z0, z1) in zip(recipe.layers, bounds)]
    return Electrode(phases=phases, particle_ids=ids, voxel_um=recipe.voxel_um, particles=table, layers=layers,
                     recipe=recipe.model_dump(mode="json"),
                     provenance={"source": "voxode.generate", "seed": recipe.seed, "voxode_version": __version__})


def _particle_table(recipe: Recipe, placed: list[LayerParticles], layer_of: list[np.ndarray], particle: np.ndarray,
                    shift_um: np.ndarray) -> pd.DataFrame:
    """One row per particle instance in the box (periodic images are separate particles with a common parent)."""
    arrays = ParticleArrays.concat([lp.arrays for lp in placed])
    layer = np.concatenate(layer_of)
    pop_index = np.concatenate([lp.population for lp in placed])
    names = np.array([recipe.layers[layer[i]].populations[pop_index[i]].name for i in range(len(layer))])
    d_eq = np.concatenate([lp.d_eq_um for lp in placed])
    centre = arrays.centre[particle] + np.column_stack([shift_um, np.zeros(len(particle))])
    data = {
        "id": np.arange(1, len(particle) + 1, dtype=np.int32), "layer": layer[particle].astype(np.int32),
        "population": names[particle], "parent": particle.astype(np.int32),
        "x_um": centre[:, 0], "y_um": centre[:, 1], "z_um": centre[:, 2], "d_eq_um": d_eq[particle],
        "r0_um": arrays.r0[particle], "bound_um": arrays.bound[particle], "aspect": arrays.aspect[particle],
        "axis_x": arrays.axis[particle, 0], "axis_y": arrays.axis[particle, 1], "axis_z": arrays.axis[particle, 2],
        "clip_z_max_um": arrays.clip_z_max[particle],
    }
    for k, col in enumerate(_COEFF_COLUMNS):
        data[col] = arrays.coeffs[particle, k]
    return pd.DataFrame(data)


def particle_arrays(table: pd.DataFrame) -> ParticleArrays:
    """The analytic particles of a generated electrode's particle table (instances, already shifted)."""
    return ParticleArrays(
        centre=table[["x_um", "y_um", "z_um"]].to_numpy(float), r0=table["r0_um"].to_numpy(float),
        bound=table["bound_um"].to_numpy(float), axis=table[["axis_x", "axis_y", "axis_z"]].to_numpy(float),
        aspect=table["aspect"].to_numpy(float), coeffs=table[_COEFF_COLUMNS].to_numpy(float),
        clip_z_max=table["clip_z_max_um"].to_numpy(float))


def own_volume_kept(electrode: Electrode) -> np.ndarray:
    """Per particle: voxels it holds / voxels inside its own (un-overlapped, in-box) shape."""
    if "r0_um" not in electrode.particles:
        raise PackingError("own_volume_kept needs a generated electrode (its analytic particle list)")
    ras = rasterise(particle_arrays(electrode.particles), electrode.voxel_um, electrode.shape, periodic=False)
    held = np.bincount(electrode.particle_ids.ravel(), minlength=electrode.n_particles + 1)[1:]
    own = np.zeros(electrode.n_particles)
    own[ras.particle] = ras.own_voxels
    return held / np.maximum(own, 1)


def electrolyte_percolates(phases: np.ndarray) -> bool:
    """True when the pore phase (6-connected) links the separator plane z = L to the current collector z = 0."""
    labels, _ = ndimage.label(phases == PORE)
    top = np.unique(labels[:, :, -1])
    bottom = np.unique(labels[:, :, 0])
    return bool(np.intersect1d(top[top > 0], bottom[bottom > 0]).size)

