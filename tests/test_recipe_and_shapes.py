"""Recipe arithmetic, particle shapes and size sampling against analytic values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from voxode.generate.shapes import fibonacci_sphere, random_shapes, real_harmonics
from voxode.generate.sizes import sample_diameters_um
from voxode.generate.voxelize import ParticleArrays, rasterise
from voxode.recipe import SizeDistribution, load_preset, load_recipe, recipe_to_yaml
from voxode.summary import volume_weighted_quantiles_um


def test_paper_recipe_gives_the_design_numbers() -> None:
    """DESIGN.md: NMC ~59.6 vol%, dense CBD ~10.4 vol%,
    ~42 mg_NMC/cm^2, ~8 mAh/cm^2 at 200 mAh/g."""
    r = load_preset("paper-pristine")
    layer = r.layers[0]
    assert layer.nmc_fraction == pytest.approx(0.596, abs=5e-4)
    assert layer.cbd_solid_fraction == pytest.approx(0.104, abs=5e-4)
    assert layer.cbd_phase_fraction == pytest.approx(2 * layer.cbd_solid_fraction)
    loading_mg_cm2 = layer.nmc_fraction * r.box_um[2] * 1e-4 * layer.densities_g_cm3.nmc * 1e3
    assert loading_mg_cm2 == pytest.approx(42.5, abs=0.1)
    assert loading_mg_cm2 * r.specific_capacity_mah_g / 1e3 == pytest.approx(8.5, abs=0.05)


@pytest.mark.parametrize("design", ["pristine", "bilayer", "bilayer-reverse"])
def test_mini_thick_presets_are_the_miniatures_at_150_um(design: str) -> None:
    thick, mini = load_preset(f"mini-thick-{design}"), load_preset(f"mini-{design}")
    assert thick.box_um == (*mini.box_um[:2], 150.0)
    same = {"name", "box_um"}
    assert thick.model_dump(exclude=same) == mini.model_dump(exclude=same)


def test_psd_sigma_from_d10_d90() -> None:
    psd = SizeDistribution(d10_um=5, d50_um=9, d90_um=14)
    assert psd.sigma == pytest.approx(math.log(14 / 5) / (2 * 1.2815515655446004))


def test_recipe_yaml_and_toml_round_trip(tmp_path: Path) -> None:
    r = load_preset("paper-bilayer")
    path = tmp_path / "r.yaml"
    path.write_text(recipe_to_yaml(r))
    assert load_recipe(path) == r
    toml = tmp_path / "r.toml"
    toml.write_text(
        'name = "t"\nseed = 3\nbox_um = [20.0, 20.0, 40.0]\n[[layers]]\nporosity = 0.35\n'
        "[layers.psd]\nd10_um = 3.0\nd50_um = 5.0\nd90_um = 8.0\nd_min_um = 2.0\nd_max_um = 10.0\n"
    )
    t = load_recipe(toml)
    assert t.seed == 3 and t.layers[0].porosity == 0.35


def test_harmonics_are_orthonormal_and_isotropic() -> None:
    u = fibonacci_sphere(4000)
    y = real_harmonics(u)
    gram = y.T @ y * 4 * math.pi / len(u)
    assert np.allclose(gram, np.eye(12), atol=2e-3)
    # addition theorem: sum_m Y_lm^2 = (2l + 1) / (4 pi) in every direction
    assert np.allclose((y[:, :5] ** 2).sum(axis=1), 5 / (4 * math.pi))
    assert np.allclose((y[:, 5:] ** 2).sum(axis=1), 7 / (4 * math.pi))


def test_voxelised_particle_has_its_equivalent_volume() -> None:
    """A potato of diameter d voxelised finely holds pi d^3 / 6 within 1 %."""
    rng = np.random.default_rng(3)
    s = random_shapes(4, roughness=0.12, aspect_ratio_max=1.3, rng=rng)
    d, voxel = 8.0, 0.1
    for i in range(4):
        p = ParticleArrays(
            np.array([[6.0, 6.0, 6.0]]),
            s["r0_rel"][i : i + 1] * d / 2,
            s["bound_rel"][i : i + 1] * d / 2,
            s["axis"][i : i + 1],
            s["aspect"][i : i + 1],
            s["coeffs"][i : i + 1],
            np.array([np.inf]),
        )
        ras = rasterise(p, voxel, (120, 120, 120), periodic=False)
        volume = np.count_nonzero(ras.labels) * voxel**3
        assert volume == pytest.approx(math.pi / 6 * d**3, rel=0.01)


def test_sampled_sizes_follow_the_volume_weighted_targets() -> None:
    psd = SizeDistribution(d10_um=5, d50_um=9, d90_um=14, d_min_um=1, d_max_um=60)
    d = sample_diameters_um(psd, 1.0, 2e6, np.random.default_rng(0))
    d10, d50, d90 = volume_weighted_quantiles_um(d)
    # three quantiles over-determine a log-normal: D50 and the spread D90 / D10 are honoured
    assert d50 == pytest.approx(9, rel=0.03)
    assert d90 / d10 == pytest.approx(14 / 5, rel=0.05)
    assert math.pi / 6 * (d**3).sum() >= 2e6
