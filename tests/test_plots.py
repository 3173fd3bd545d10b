"""The electrode figure: written atomically, readable, with and without a recipe target."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from scipy import stats

from helpers import small_recipe
from voxode.electrode import Electrode
from voxode.errors import VoxodeError
from voxode.generate import generate
from voxode.io.importing import import_tiff
from voxode.io.tiff import write_tiff_stacks
from voxode.plots import plot_electrode, target_cdf
from voxode.recipe import Recipe, load_preset


@pytest.fixture(scope="module")
def recipe() -> Recipe:
    return small_recipe()


@pytest.fixture(scope="module")
def electrode(recipe: Recipe) -> Electrode:
    return generate(recipe)


def test_png_written_and_readable(electrode: Electrode, recipe: Recipe, tmp_path: Path) -> None:
    path = plot_electrode(electrode, tmp_path / "fig" / "electrode.png", recipe)
    assert path.stat().st_size > 10_000
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 1000 and image.shape[1] > 1500  # 300 dpi
    assert [p.name for p in path.parent.iterdir()] == ["electrode.png"]  # no temporary left behind


def test_svg_for_an_import_without_recipe(electrode: Electrode, tmp_path: Path) -> None:
    imported = import_tiff(
        *write_tiff_stacks(electrode, tmp_path / "s"), voxel_um=electrode.voxel_um
    )
    path = plot_electrode(imported, tmp_path / "imported.svg")
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text and "current collector" in text


def test_unknown_format(electrode: Electrode, tmp_path: Path) -> None:
    with pytest.raises(VoxodeError, match=r"\.png"):
        plot_electrode(electrode, tmp_path / "figure.bmp")


def test_target_cdf_is_a_mixture_cdf() -> None:
    recipe = load_preset("paper-bilayer")
    d = np.geomspace(1.0, 25.0, 200)
    cdf = target_cdf(recipe, d)
    assert np.all(np.diff(cdf) >= 0) and cdf[0] == 0.0 and cdf[-1] == pytest.approx(1.0)
    # below the pristine d_min (3 um) only the bottom layer's shrunk population (0.5 x
    # diameters, 25 wt% of half the electrode's NMC) counts: a log-normal of volume median
    # 4.5 um on [1.5, 10] um
    sigma = recipe.layers[0].psd.sigma
    mu = math.log(4.5)
    shrunk = stats.truncnorm(
        (math.log(1.5) - mu) / sigma, (math.log(10.0) - mu) / sigma, loc=mu, scale=sigma
    )
    assert target_cdf(recipe, np.array([3.0]))[0] == pytest.approx(
        0.125 * shrunk.cdf(math.log(3.0))
    )
