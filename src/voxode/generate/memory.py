"""Expected peak memory of :func:`voxode.generate.generate` for a recipe (before any work)."""

from __future__ import annotations

import math

from voxode.recipe import Recipe
from voxode.resources import MIB, MemoryEstimate

# Fitted to the measured peak RSS of paper-pristine at 1.5 .. 0.25 um (benchmarks/bench_memory.py):
# the packing and imports (fixed); the phase, id and label images and the CBD's fields (per voxel
# of the requested grid); and, where the voxel is coarser than the CBD grid, the CBD laid on that
# finer grid with the tortuosity solves that rasterise it (per CBD-grid voxel).
FIXED_BYTES = 290 * MIB
BYTES_PER_VOXEL = 24
BYTES_PER_CBD_GRID_VOXEL = 100


def estimate_memory(recipe: Recipe) -> MemoryEstimate:
    """Expected peak resident memory of generating ``recipe`` at its voxel size."""
    voxels = math.prod(recipe.grid_shape(recipe.voxel_um))
    fine = (
        math.prod(recipe.grid_shape(recipe.cbd_grid_um))
        if recipe.cbd_grid_um < recipe.voxel_um
        else 0
    )
    return MemoryEstimate(
        "generate", FIXED_BYTES + BYTES_PER_VOXEL * voxels + BYTES_PER_CBD_GRID_VOXEL * fine, voxels
    )
