"""Expected peak memory of :func:`voxode.generate.generate` for a recipe (before any work)."""

from __future__ import annotations

import math

from voxode.recipe import Recipe
from voxode.resources import BASE_BYTES, MemoryEstimate

# Peak bytes per voxel of the requested grid: the rasterised labels and distances, the phase and
# id images, the CBD's smoothed fields; measured (benchmarks/bench_memory.py).
BYTES_PER_VOXEL = 40


def estimate_memory(recipe: Recipe) -> MemoryEstimate:
    """Expected peak resident memory of generating ``recipe`` at its voxel size."""
    voxels = math.prod(recipe.grid_shape(recipe.voxel_um))
    return MemoryEstimate("generate", BASE_BYTES + BYTES_PER_VOXEL * voxels, voxels)
