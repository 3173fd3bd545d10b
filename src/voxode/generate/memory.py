"""Expected peak memory of :func:`voxode.generate.generate` for a recipe (before any work)."""

from __future__ import annotations

import math

from voxode.recipe import Recipe
from voxode.resources import MIB, MemoryEstimate

# Fitted to the measured peak RSS at 1.5 .. 0.25 um (benchmarks/bench_memory.py): the packing
# and imports (fixed), then the phase, id and label images and the CBD's fields (per voxel).
FIXED_BYTES = 290 * MIB
BYTES_PER_VOXEL = 24


def estimate_memory(recipe: Recipe) -> MemoryEstimate:
    """Expected peak resident memory of generating ``recipe`` at its voxel size."""
    voxels = math.prod(recipe.grid_shape(recipe.voxel_um))
    return MemoryEstimate("generate", FIXED_BYTES + BYTES_PER_VOXEL * voxels, voxels)
