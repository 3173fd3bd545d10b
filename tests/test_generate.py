"""The stochastic generator against the recipe's targets (issue: foundation)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from helpers import small_recipe
from voxode.connectivity import percolates
from voxode.electrode import CBD, NMC, PORE, Electrode
from voxode.generate import generate, own_volume_kept
from voxode.generate.sizes import volume_weighted_quantiles_um
from voxode.recipe import load_preset
from voxode.summary import particle_diameters_um


def test_pristine_phase_fractions_match_recipe(pristine: Electrode) -> None:
    layer = load_preset("paper-pristine").layers[0]
    n = pristine.phases.size
    assert abs(np.count_nonzero(pristine.phases == NMC) / n - layer.nmc_fraction) < 0.01
    assert abs(np.count_nonzero(pristine.phases == CBD) / n - layer.cbd_phase_fraction) < 0.01
    assert abs(np.count_nonzero(pristine.phases == PORE) / n - layer.macro_porosity) < 0.01
    assert pristine.shape == (60, 60, 300)


def test_pristine_volume_weighted_d50_within_10_percent(pristine: Electrode) -> None:
    d10, d50, d90 = volume_weighted_quantiles_um(particle_diameters_um(pristine))
    assert abs(d50 - 9.0) / 9.0 < 0.10
    assert d10 < d50 < d90


def test_every_particle_is_one_6_connected_piece(pristine: Electrode) -> None:
    ids = pristine.particle_ids
    for pid, sl in enumerate(ndimage.find_objects(ids), start=1):
        assert sl is not None, f"particle {pid} has no voxels"
        _, n = ndimage.label(ids[sl] == pid)
        assert n == 1, f"particle {pid} is in {n} pieces"
    assert set(np.unique(ids[ids > 0])) == set(pristine.particles["id"])


def test_particle_ids_exactly_cover_nmc(pristine: Electrode) -> None:
    assert np.array_equal(pristine.particle_ids > 0, pristine.phases == NMC)


def test_electrolyte_percolates(pristine: Electrode) -> None:
    assert percolates(pristine.phases == PORE)


def test_particles_keep_most_of_their_own_volume(pristine: Electrode) -> None:
    kept = own_volume_kept(pristine)
    assert kept.mean() >= 0.80
    assert np.median(kept) >= 0.85


def test_particles_are_cut_by_lateral_faces_like_a_window(pristine: Electrode) -> None:
    """Periodic images: a particle leaving at x = L re-enters at x = 0 as its own (cut) particle."""
    parents = pristine.particles["parent"].to_numpy()
    assert len(np.unique(parents)) < len(parents)
    lateral = np.concatenate([pristine.particle_ids[0].ravel(), pristine.particle_ids[-1].ravel()])
    assert np.count_nonzero(lateral) > 0


def test_nmc_profile_is_uniform_through_the_thickness(pristine: Electrode) -> None:
    """No packing gradient: every 15 um slab (away from
    the two faces) within 6 points of the mean."""
    nmc = (pristine.phases == NMC).mean(axis=(0, 1)).reshape(10, 30).mean(axis=1)
    assert np.all(np.abs(nmc - nmc.mean()) < 0.06), nmc


def test_cbd_touches_particles(pristine: Electrode) -> None:
    cbd = pristine.phases == CBD
    touching = cbd & ndimage.binary_dilation(pristine.phases == NMC)
    labels, n = ndimage.label(cbd)
    touching_pieces = np.unique(labels[touching])
    # nearly all CBD volume lies in pieces that touch a particle
    sizes = np.bincount(labels.ravel())
    assert sizes[touching_pieces[touching_pieces > 0]].sum() / cbd.sum() > 0.99


def test_same_seed_same_electrode_bit_for_bit(small: Electrode) -> None:
    again = generate(small_recipe())
    assert np.array_equal(again.phases, small.phases)
    assert np.array_equal(again.particle_ids, small.particle_ids)
    assert again.particles.equals(small.particles)


def test_another_seed_another_electrode(small: Electrode) -> None:
    other = generate(small_recipe(seed=8))
    assert not np.array_equal(other.phases, small.phases)
    assert abs((other.phases == NMC).mean() - (small.phases == NMC).mean()) < 0.01


def test_same_particles_at_another_voxel_size() -> None:
    """The packing is measured on a fixed grid: the analytic
    particles do not depend on the voxel size."""
    coarse = generate(small_recipe().with_overrides(voxel_um=1.0))
    fine = generate(small_recipe())

    def parents(e: Electrode) -> np.ndarray:
        t = e.particles.drop_duplicates("parent").sort_values("parent")
        lx, ly, _ = e.size_um
        return np.column_stack(
            [t["parent"], t["x_um"] % lx, t["y_um"] % ly, t["z_um"], t["d_eq_um"]]
        )

    a, b = parents(coarse), parents(fine)
    common = np.intersect1d(a[:, 0], b[:, 0])
    assert len(common) >= 0.95 * max(len(a), len(b))  # a tiny sliver may vanish at 1 um
    assert np.allclose(a[np.isin(a[:, 0], common)], b[np.isin(b[:, 0], common)])
    assert abs((coarse.phases == NMC).mean() - (fine.phases == NMC).mean()) < 0.02


def test_bilayer_shares_the_separator_half_voxel_for_voxel(
    pristine: Electrode, bilayer: Electrode
) -> None:
    half = pristine.shape[2] // 2
    assert np.array_equal(bilayer.phases[:, :, half:], pristine.phases[:, :, half:])
    assert np.array_equal(bilayer.particle_ids[:, :, half:], pristine.particle_ids[:, :, half:])
    assert not np.array_equal(bilayer.phases[:, :, :half], pristine.phases[:, :, :half])


def test_bilayer_current_collector_half_is_bimodal_at_its_mass_fraction(bilayer: Electrode) -> None:
    half = bilayer.shape[2] // 2
    ids = bilayer.particle_ids[:, :, :half]
    table = bilayer.particles.set_index("id")
    voxels = np.bincount(ids.ravel(), minlength=bilayer.n_particles + 1)[1:]
    shrunk = (table.loc[np.arange(1, bilayer.n_particles + 1), "population"] == "shrunk").to_numpy()
    fraction = voxels[shrunk].sum() / voxels.sum()
    assert abs(fraction - 0.25) <= 0.03
    d_shrunk = np.median(table.loc[table["population"] == "shrunk", "d_eq_um"])
    d_pristine = np.median(
        table.loc[(table["population"] == "pristine") & (table["layer"] == 0), "d_eq_um"]
    )
    assert 0.4 < d_shrunk / d_pristine < 0.6
    assert not (table.loc[table["layer"] == 1, "population"] == "shrunk").any()


def test_reverse_bilayer_puts_the_mixed_layer_at_the_separator() -> None:
    recipe = load_preset("paper-bilayer-reverse")
    assert [p.name for p in recipe.layers[1].populations] == ["pristine", "shrunk"]
    assert [p.name for p in recipe.layers[0].populations] == ["pristine"]


def test_two_layers_of_one_recipe_meet_without_a_gap() -> None:
    """Layers packed against each other: no depleted band at the interface."""
    e = generate(small_recipe(layers=2))
    nmc = (e.phases == NMC).mean(axis=(0, 1))
    mid = e.shape[2] // 2
    band = nmc[mid - 4 : mid + 4].mean()
    assert band > nmc.mean() - 0.08


@pytest.mark.parametrize("porosity", [0.05])
def test_unreachable_packing_target_is_a_clear_error(porosity: float) -> None:
    from voxode.errors import PackingError

    with pytest.raises(PackingError, match="porosity"):
        generate(small_recipe(porosity=porosity, cbd_nanoporosity=0.0))
