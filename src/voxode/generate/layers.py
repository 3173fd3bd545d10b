"""Pack one layer's particles to its NMC volume fraction and population mass fractions.

Fractions are measured on the recipe's packing grid inside the layer's slab: the layer's own
particles plus the parts of particles of the layers above (packed earlier, fixed) that reach
into it. Rounds of (add particles in the largest holes | remove one) + relax + measure run
until the targets are met within the recipe's tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from voxode.errors import PackingError
from voxode.generate.packing import relax
from voxode.generate.shapes import random_shapes
from voxode.generate.sizes import sample_diameters_um
from voxode.generate.voxelize import ParticleArrays, rasterise
from voxode.recipe import LayerRecipe, Recipe

MAX_ROUNDS = 16


@dataclass
class LayerParticles:
    """The particles of one layer: analytic arrays, population index and diameter of each."""

    arrays: ParticleArrays
    population: np.ndarray  # (n,) index into the layer's populations
    d_eq_um: np.ndarray  # (n,)


@dataclass
class _Grid:
    voxel_um: float
    shape: tuple[int, int, int]
    window: tuple[int, int]

    @property
    def slab_voxels(self) -> int:
        return self.shape[0] * self.shape[1] * (self.window[1] - self.window[0])

    def voxel_volume_um3(self) -> float:
        return self.voxel_um**3


def pack_layer(
    recipe: Recipe, index: int, above: list[LayerParticles], rng: np.random.Generator
) -> LayerParticles:
    """Pack layer ``index`` of the recipe below the (fixed) particles of the layers above it."""
    layer = recipe.layers[index]
    z0, z1 = recipe.layer_bounds_um()[index]
    has_below = index > 0
    g = recipe.packing.grid_um
    grid = _Grid(g, recipe.grid_shape(g), recipe.layer_planes(index, g))
    obstacles = ParticleArrays.concat([a.arrays for a in above]) if above else None
    obstacle_r = np.concatenate([a.d_eq_um for a in above]) / 2.0 if above else np.zeros(0)
    obstacle_pops = _obstacle_population_index(layer, recipe, above)

    n_pops = len(layer.populations)
    target = (
        np.array([pop.mass_fraction for pop in layer.populations])
        * layer.nmc_fraction
        * grid.slab_voxels
    )
    tol_total = recipe.packing.tolerance * grid.slab_voxels
    tol_pop = np.maximum(0.01 * target, tol_total)

    own = LayerParticles(_empty_arrays(), np.zeros(0, np.int64), np.zeros(0))
    kept_ratio = 1.0  # measured voxel volume / nominal volume of own particles, refined each round
    deficit = target.copy()
    last_labels = None
    last_counts_own = np.zeros(0)
    for _ in range(MAX_ROUNDS):
        if last_labels is None:
            new = _draw(layer, deficit / kept_ratio * grid.voxel_volume_um3(), z1, rng)
            new.arrays.centre[:] = _random_centres(new, recipe, z0, z1, has_below, rng)
        else:
            if deficit.sum() < -tol_total or np.any(deficit < -tol_pop):
                own = _remove_one(
                    own,
                    int(np.argmin(deficit)),
                    -float(deficit.min()),
                    last_counts_own,
                    layer,
                    index,
                )
                new = None
            else:
                # top up: cap sizes so that one particle does not overshoot the remaining volume
                vol_um3 = np.maximum(deficit, 0) / kept_ratio * grid.voxel_volume_um3()
                new = _draw(layer, vol_um3, z1, rng, cap_by_volume=True)
                new.arrays.centre[:] = _hole_centres(
                    last_labels, new, grid, z0, z1, has_below, recipe
                )
        if new is not None:
            own = LayerParticles(
                ParticleArrays.concat([own.arrays, new.arrays]),
                np.concatenate([own.population, new.population]),
                np.concatenate([own.d_eq_um, new.d_eq_um]),
            )
        own.arrays.centre[:] = _relax(own, obstacles, obstacle_r, recipe, z0, z1, has_below)
        both = (
            ParticleArrays.concat([own.arrays, obstacles]) if obstacles is not None else own.arrays
        )
        ras = rasterise(both, g, grid.shape, grid.window)
        counts = np.bincount(ras.labels.ravel(), minlength=len(ras.particle) + 1)[1:]
        n_own = len(own.d_eq_um)
        pops = np.where(
            ras.particle < n_own,
            own.population[np.minimum(ras.particle, n_own - 1)],
            obstacle_pops[np.maximum(ras.particle - n_own, 0)] if obstacles is not None else 0,
        )
        measured = np.bincount(pops, weights=counts, minlength=n_pops)
        last_counts_own = np.bincount(
            ras.particle[ras.particle < n_own],
            weights=counts[ras.particle < n_own],
            minlength=n_own,
        )
        nominal_own = math.pi / 6.0 * own.d_eq_um**3 / grid.voxel_volume_um3()
        kept_ratio = float(np.clip(last_counts_own.sum() / max(nominal_own.sum(), 1.0), 0.5, 1.0))
        deficit = target - measured
        last_labels = ras.labels
        if abs(deficit.sum()) <= tol_total and np.all(np.abs(deficit) <= tol_pop):
            return own
    got = (target - deficit).sum() / grid.slab_voxels
    raise PackingError(
        f"layers[{index}] '{layer.name}': could not pack NMC to {layer.nmc_fraction:.3f} "
        f"(reached {got:.3f}) with overlaps below packing.max_overlap = "
        f"{recipe.packing.max_overlap:g}: raise the layer's porosity or packing.max_overlap"
    )


def _empty_arrays() -> ParticleArrays:
    z = np.zeros(0)
    return ParticleArrays(np.zeros((0, 3)), z, z, np.zeros((0, 3)), z, np.zeros((0, 12)), z)


def _obstacle_population_index(
    layer: LayerRecipe, recipe: Recipe, above: list[LayerParticles]
) -> np.ndarray:
    """For particles of the layers above: the index of the
    same-named population in this layer (else 0)."""
    names = [p.name for p in layer.populations]
    out = []
    for k, lp in enumerate(above):
        upper = recipe.layers[len(recipe.layers) - 1 - k]
        mapping = np.array(
            [names.index(p.name) if p.name in names else 0 for p in upper.populations]
        )
        out.append(mapping[lp.population])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _draw(
    layer: LayerRecipe,
    volumes_um3: np.ndarray,
    clip_z_um: float,
    rng: np.random.Generator,
    cap_by_volume: bool = False,
) -> LayerParticles:
    """New particles per population for the given volumes (shapes drawn, cut above ``clip_z_um``;
    centres to be set)."""
    diam, pop = [], []
    for k, (population, vol) in enumerate(zip(layer.populations, volumes_um3, strict=True)):
        cap = (6.0 * vol / math.pi) ** (1.0 / 3.0) * 1.1 if cap_by_volume else math.inf
        d = sample_diameters_um(layer.psd, population.size_scale, float(vol), rng, d_cap_um=cap)
        diam.append(d)
        pop.append(np.full(len(d), k))
    d = np.concatenate(diam)
    n = len(d)
    shapes = random_shapes(n, layer.shape.roughness, layer.shape.aspect_ratio_max, rng)
    r_eq = d / 2.0
    arrays = ParticleArrays(
        np.zeros((n, 3)),
        shapes["r0_rel"] * r_eq,
        shapes["bound_rel"] * r_eq,
        shapes["axis"],
        shapes["aspect"],
        shapes["coeffs"],
        np.full(n, clip_z_um),
    )
    return LayerParticles(arrays, np.concatenate(pop).astype(np.int64), d)


def _z_range(
    lp: LayerParticles, recipe: Recipe, z0: float, z1: float, has_below: bool
) -> np.ndarray:
    """Allowed centre heights: planes cut at most
    wall_penetration of a radius (free below if a layer follows)."""
    r = lp.d_eq_um / 2.0
    keep = 1.0 - recipe.packing.wall_penetration
    lo = np.full(len(r), z0) if has_below else z0 + keep * r
    hi = np.maximum(z1 - keep * r, lo)
    return np.stack([lo, hi], axis=1)


def _random_centres(
    lp: LayerParticles,
    recipe: Recipe,
    z0: float,
    z1: float,
    has_below: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Random lateral positions; heights at the cumulative-volume quantiles of a random order.

    Stratifying heights by volume gives every depth its share of NMC from the start (a plain
    uniform draw of a few hundred polydisperse particles leaves +-50 % volume swings between
    15 um bins, which relaxation below jamming does not even out).
    """
    zr = _z_range(lp, recipe, z0, z1, has_below)
    n = len(lp.d_eq_um)
    order = rng.permutation(n)
    vol = lp.d_eq_um[order] ** 3
    q = (np.cumsum(vol) - 0.5 * vol) / vol.sum()
    z = np.empty(n)
    z[order] = z0 + q * (z1 - z0) + rng.uniform(-0.5, 0.5, n) * lp.d_eq_um[order] / 2.0
    return np.stack(
        [
            rng.uniform(0, recipe.box_um[0], n),
            rng.uniform(0, recipe.box_um[1], n),
            np.clip(z, zr[:, 0], zr[:, 1]),
        ],
        axis=1,
    )


def _hole_centres(
    labels: np.ndarray,
    new: LayerParticles,
    grid: _Grid,
    z0: float,
    z1: float,
    has_below: bool,
    recipe: Recipe,
) -> np.ndarray:
    """Put the new particles, largest first, at the centres of the largest empty regions.

    Distances wrap around the lateral faces (periodic box) and stop at the slab's end planes.
    """
    pad = max(
        1, min(labels.shape[0], labels.shape[1], int(np.ceil(new.d_eq_um.max() / grid.voxel_um)))
    )
    free = np.pad(labels == 0, ((pad, pad), (pad, pad), (0, 0)), mode="wrap")
    free = np.pad(free, ((0, 0), (0, 0), (1, 1)), constant_values=False)
    free = ndimage.distance_transform_edt(free)[pad:-pad, pad:-pad, 1:-1] * grid.voxel_um
    zr = _z_range(new, recipe, z0, z1, has_below)
    centres = np.zeros((len(new.d_eq_um), 3))
    k0 = grid.window[0]
    for i in np.argsort(-new.d_eq_um):
        flat = int(np.argmax(free))
        ix, iy, iz = np.unravel_index(flat, free.shape)
        c = (np.array([ix, iy, iz + k0]) + 0.5) * grid.voxel_um
        c[2] = np.clip(c[2], zr[i, 0], zr[i, 1])
        centres[i] = c
        r_vox = new.d_eq_um[i] / 2.0 / grid.voxel_um
        sl = tuple(slice(max(int(q - r_vox - 1), 0), int(q + r_vox + 2)) for q in (ix, iy, iz))
        free[sl] = 0.0
    return centres


def _remove_one(
    own: LayerParticles,
    pop: int,
    excess_voxels: float,
    counts_own: np.ndarray,
    layer: LayerRecipe,
    index: int,
) -> LayerParticles:
    """Drop the particle of population ``pop`` whose voxel count is closest to the excess."""
    cand = np.flatnonzero(own.population == pop)
    if (
        cand.size == 0
    ):  # the excess comes only from particles of the layers above reaching into this one
        raise PackingError(
            f"layers[{index}] '{layer.name}': particles of the layer above already "
            f"exceed the share of population '{layer.populations[pop].name}' in "
            f"this layer: raise its mass_fraction or thicken the layer"
        )
    drop = cand[int(np.argmin(np.abs(counts_own[cand] - excess_voxels)))]
    keep = np.ones(len(own.d_eq_um), bool)
    keep[drop] = False
    return LayerParticles(own.arrays.subset(keep), own.population[keep], own.d_eq_um[keep])


def _relax(
    own: LayerParticles,
    obstacles: ParticleArrays | None,
    obstacle_r: np.ndarray,
    recipe: Recipe,
    z0: float,
    z1: float,
    has_below: bool,
) -> np.ndarray:
    """Relax the layer's particles against the fixed ones above that come near its slab."""
    zr = _z_range(own, recipe, z0, z1, has_below)
    obstacle_c = None
    if obstacles is not None:
        near = obstacles.centre[:, 2] - obstacles.bound < z1 + 2 * own.arrays.bound.max(initial=0.0)
        obstacle_c, obstacle_r = obstacles.centre[near], obstacle_r[near]
    return relax(
        own.arrays.centre,
        own.d_eq_um / 2.0,
        zr,
        (recipe.box_um[0], recipe.box_um[1]),
        recipe.packing.max_overlap,
        obstacle_c,
        obstacle_r,
    )
