"""Carbon-binder domain at any voxel size (issue 17): exact
fractions, open pores, retries, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import voxode.generate as gen
from conftest import small_recipe
from voxode.characterize.effective import effective_transport
from voxode.connectivity import percolates
from voxode.electrode import CBD, NMC, PORE, Electrode
from voxode.errors import PackingError, RecipeError
from voxode.generate import generate
from voxode.generate.pore_paths import place_cbd
from voxode.generate.voxelize import coverage_fraction
from voxode.recipe import load_preset, recipe_from_dict


@pytest.fixture(scope="module")
def coarse() -> Electrode:
    return generate(small_recipe().with_overrides(voxel_um=1.0))


def _channel_and_pocket() -> np.ndarray:
    """Solid block with one straight pore channel (z) at
    (1, 1) and a dead-end pocket at (3, 3, 2)."""
    phases = np.full((5, 5, 6), NMC, np.uint8)
    phases[1, 1, :] = PORE
    phases[3, 3, 2] = PORE
    return phases


def test_cbd_never_closes_the_last_pore_path_and_keeps_its_count() -> None:
    phases = _channel_and_pocket()
    throat = np.ravel_multi_index((1, 1, 3), phases.shape)
    pocket = np.ravel_multi_index((3, 3, 2), phases.shape)
    released = place_cbd(phases, np.array([throat, pocket]), 1, 0, "only")
    assert released == 1
    assert phases.reshape(-1)[pocket] == CBD and phases.reshape(-1)[throat] == PORE
    assert percolates(phases == PORE)
    assert np.count_nonzero(phases == CBD) == 1


def test_cbd_that_can_only_close_the_pores_is_a_clear_error() -> None:
    phases = _channel_and_pocket()
    throat = np.ravel_multi_index((1, 1, 3), phases.shape)
    with pytest.raises(PackingError, match="porosity"):
        place_cbd(phases, np.array([throat]), 1, 0, "only")


@pytest.mark.parametrize("voxel_um", [0.5, 1.0])
def test_cbd_phase_fraction_is_the_recipes_at_every_voxel(
    voxel_um: float, small: Electrode, coarse: Electrode
) -> None:
    e = small if voxel_um == 0.5 else coarse
    layer = small_recipe().layers[0]
    assert np.count_nonzero(e.phases == CBD) == round(layer.cbd_phase_fraction * e.phases.size)
    assert percolates(e.phases == PORE)


def test_coarse_cbd_keeps_the_tortuosity_with_cbd_of_the_cbd_grid(
    small: Electrode, coarse: Electrode
) -> None:
    fine = effective_transport(small)["tau_electrolyte_cbd"]
    got = effective_transport(coarse)["tau_electrolyte_cbd"]
    assert coarse.provenance["tau_electrolyte_cbd_of_cbd_grid"]["l0"] == pytest.approx(
        fine, rel=1e-5
    )
    assert abs(got / fine - 1.0) < 0.10


def test_same_seed_same_bytes_at_a_coarse_voxel(coarse: Electrode) -> None:
    again = generate(small_recipe().with_overrides(voxel_um=1.0))
    assert np.array_equal(again.phases, coarse.phases)
    assert again.provenance == coarse.provenance


def test_coverage_fraction_is_the_overlap_of_the_two_grids() -> None:
    mask = np.zeros((3, 3, 3), bool)
    mask[0] = True  # the first 0.5 um of x
    cover = coverage_fraction(mask, 0.5, (1, 1, 1), 1.5)
    assert cover[0, 0, 0] == pytest.approx(1.0 / 3.0)
    cover = coverage_fraction(mask, 0.5, (2, 1, 1), 0.75)
    assert cover[:, 0, 0] == pytest.approx([2.0 / 3.0, 0.0])


def test_a_failed_packing_is_retried_with_a_derived_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gen.pack_layer
    calls: list[int] = []

    def flaky(recipe, index, above, rng):
        calls.append(index)
        if calls.count(index) == 1:
            raise PackingError("overlap bound")
        return real(recipe, index, above, rng)

    monkeypatch.setattr(gen, "pack_layer", flaky)
    e = generate(small_recipe())
    assert e.provenance["packing_attempts"] == {"l0": 2}
    assert percolates(e.phases == PORE)


def test_packing_that_fails_every_stream_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args):
        raise PackingError("overlap bound")

    monkeypatch.setattr(gen, "pack_layer", never)
    with pytest.raises(PackingError, match=f"tried {gen.MAX_PACKING_ATTEMPTS} streams"):
        generate(small_recipe())


def test_fibres_too_thin_for_the_cbd_grid_are_a_recipe_error() -> None:
    data = small_recipe().model_dump()
    data["layers"][0]["cbd"] = {"fibre_diameter_um": 0.6}
    with pytest.raises(RecipeError, match="too coarse for the fibres"):
        recipe_from_dict(data)


@pytest.mark.parametrize("preset", ["paper-pristine", "paper-bilayer", "paper-bilayer-reverse"])
def test_paper_presets_refuse_every_voxel_wider_than_a_fibre_and_accept_one_as_wide(
    preset: str,
) -> None:
    recipe = load_preset(preset)
    fibre_um = recipe.layers[0].cbd.fibre_diameter_um
    assert recipe.with_overrides(voxel_um=fibre_um).voxel_um == fibre_um
    for seed in (1, 2, 3):
        with pytest.raises(RecipeError, match="too coarse"):
            recipe.with_overrides(voxel_um=1.5 * fibre_um, seed=seed)


def test_a_voxel_wider_than_the_fibres_names_them() -> None:
    data = small_recipe().model_dump() | {"voxel_um": 1.2}
    with pytest.raises(
        RecipeError, match=r"too coarse for the CBD fibres of layers\[0\] \(1 um\).*voxel_um <= 1$"
    ):
        recipe_from_dict(data)
