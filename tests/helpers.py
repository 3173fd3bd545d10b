"""Recipes and CLI helpers the tests share (import them from here: conftest.py holds only
fixtures)."""

from __future__ import annotations

import io
import sys
from unittest import mock

from voxode.cli import main
from voxode.recipe import Recipe, load_preset, recipe_from_dict


def small_recipe(
    seed: int = 7,
    layers: int = 1,
    box_um: tuple[float, float, float] = (20.0, 20.0, 40.0),
    **layer_changes: object,
) -> Recipe:
    """A paper-pristine electrode in a smaller box (default 20 x 20 x 40 um^3) with smaller
    particles: fast, same physics of generation; ``layers`` equal layers, each with
    ``layer_changes`` applied."""
    base = load_preset("paper-pristine").model_dump()
    base["seed"] = seed
    base["box_um"] = list(box_um)
    layer = (
        base["layers"][0]
        | {"psd": {"d10_um": 3.0, "d50_um": 5.0, "d90_um": 8.0, "d_min_um": 2.0, "d_max_um": 10.0}}
        | layer_changes
    )
    base["layers"] = [
        layer | {"thickness_fraction": 1.0 / layers, "name": f"l{i}"} for i in range(layers)
    ]
    return recipe_from_dict(base, source="small test recipe")


def tiny_recipe(seed: int = 1, box_um: tuple[float, float, float] = (8.0, 8.0, 16.0)) -> Recipe:
    """A few-particle electrode at 1 um (a few thousand unknowns): a whole campaign case
    (generate, characterize, discharge at 1C) in seconds."""
    base = load_preset("paper-pristine").model_dump()
    base |= {"name": "tiny", "seed": seed, "box_um": list(box_um), "voxel_um": 1.0}
    layer = base["layers"][0] | {
        "name": "only",
        "thickness_fraction": 1.0,
        "porosity": 0.4,
        "psd": {"d10_um": 2.5, "d50_um": 3.2, "d90_um": 4.2, "d_min_um": 2.0, "d_max_um": 5.0},
    }
    base["layers"] = [layer]
    return recipe_from_dict(base, source="tiny test recipe")


def invoke(*args: object) -> tuple[int, str]:
    """Run ``voxode ARGS`` in this process; return the exit code and stderr."""
    stderr = io.StringIO()
    with (
        mock.patch.object(sys, "argv", ["voxode", *map(str, args)]),
        mock.patch.object(sys, "stderr", stderr),
        mock.patch.object(sys, "stdout", io.StringIO()),
    ):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return code, stderr.getvalue()


def assert_outcome(code: int, stderr: str, allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    """Success, or exit 2 / exit 1 with exactly one line on stderr and no traceback."""
    assert code in allowed, (code, stderr)
    assert "Traceback" not in stderr
    if code != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, stderr
