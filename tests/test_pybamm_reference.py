"""PyBaMM DFN half-cell reference (voxode.electrochem.pybamm_reference): fast sanity checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

pybamm = pytest.importorskip("pybamm")

from voxode.electrochem.materials import load_parameters  # noqa: E402
from voxode.electrochem.pybamm_reference import (  # noqa: E402
    EffectiveProperties,
    bruggeman_from_tortuosity,
    dfn_half_cell,
    full_lithiation_capacity_mah_cm2,
    parameter_values,
)

R_UM = 3.0


def props(**changes) -> EffectiveProperties:
    base = dict(
        thickness_um=40.0,
        porosity=0.4,
        active_fraction=0.6,
        area_per_volume_1_m=3 * 0.6 / (R_UM * 1e-6),
        tortuosity=2.0,
        particle_radius_um=R_UM,
        conductivity_s_m=1.0,
    )
    return EffectiveProperties(**(base | changes))


@pytest.fixture(scope="module")
def params():
    return load_parameters()


def end_capacity(params, p: EffectiveProperties, c_rate: float) -> tuple[float, float]:
    q_full = full_lithiation_capacity_mah_cm2(params, p)
    df = dfn_half_cell(params, p, c_rate * q_full)
    return float(df["capacity_mah_cm2"].iloc[-1]), q_full


def test_mapping_of_tortuosity_and_area(params):
    b = bruggeman_from_tortuosity(0.4, 2.0)
    assert 0.4**b == pytest.approx(0.4 / 2.0, rel=1e-12)
    # area twice that of spheres of the diffusion radius: the PyBaMM radius carries the area,
    # the diffusivity keeps the diffusion time R_d^2 / D_s
    p = props(area_per_volume_1_m=2 * 3 * 0.6 / (R_UM * 1e-6))
    pv = parameter_values(params, p, current_ma_cm2=1.0)
    r = pv["Positive particle radius [m]"]
    eps = pv["Positive electrode active material volume fraction"]
    assert 3 * eps / r == pytest.approx(p.area_per_volume_1_m, rel=1e-12)
    d = pv["Positive particle diffusivity [m2.s-1]"]
    assert r**2 / d == pytest.approx((R_UM * 1e-6) ** 2 / params.active.diffusivity_m2_s)
    assert pv["Current function [A]"] == pytest.approx(1e-3)  # 1 mA/cm^2 on 1 cm^2


def test_low_rate_follows_ocp(params):
    p = props()
    q_full = full_lithiation_capacity_mah_cm2(params, p)
    df = dfn_half_cell(params, p, q_full / 20)
    assert list(df.columns) == ["t_s", "voltage_v", "capacity_mah_cm2"]
    assert df["voltage_v"].iloc[-1] == pytest.approx(3.0, abs=1e-9)
    assert (df["voltage_v"] >= 3.0 - 1e-9).all()
    assert df["capacity_mah_cm2"].iloc[-1] > 0.95 * q_full
    x0 = params.active.x_initial
    q = 0.1 * q_full
    v = np.interp(q, df["capacity_mah_cm2"], df["voltage_v"])
    x = x0 + (1 - x0) * q / q_full
    assert abs(v - params.ocp(x)) < 0.010


def test_rate_and_tortuosity_reduce_capacity(params):
    c10, q_full = end_capacity(params, props(), 0.1)
    c1, _ = end_capacity(params, props(), 1.0)
    assert c1 < c10
    assert c10 > 0.98 * q_full
    # thin electrode: solid diffusion limits at 1C, the electrolyte barely matters
    assert end_capacity(params, props(tortuosity=8.0), 1.0)[0] < c1
    # thick electrode: electrolyte depletion limits, a higher tortuosity costs capacity
    low, q_thick = end_capacity(params, props(thickness_um=120.0, tortuosity=2.0), 1.0)
    high, _ = end_capacity(params, props(thickness_um=120.0, tortuosity=8.0), 1.0)
    assert high < low - 0.1 * q_thick
    assert math.isfinite(high) and high > 0


# --- particle size distribution (issue 14) ---------------------------------------------------
SLOW_DS = 5e-16  # solid diffusion limits at 1C and above for R = 3 um


def psd_capacity(params, p: EffectiveProperties, c_rate: float, particle_size: str) -> float:
    q_full = full_lithiation_capacity_mah_cm2(params, p)
    df = dfn_half_cell(
        params,
        p,
        c_rate * q_full,
        particle_size=particle_size,
        mesh={"x_p": 20, "r_p": 15, "R_p": 10},
    )
    return float(df["capacity_mah_cm2"].iloc[-1]) / q_full


@pytest.fixture(scope="module")
def slow_params():
    from voxode.electrochem.materials import with_values

    return with_values(load_parameters(), {"active.diffusivity_m2_s": SLOW_DS})


@pytest.mark.parametrize("area_factor", [1.0, 1.6])
def test_one_size_distribution_is_the_single_particle_dfn(slow_params, area_factor):
    """A distribution of one size (one bin of +-2 %) gives the single-particle DFN's capacity
    within 0.5 % of full at rates where solid diffusion limits, also when the image's area is
    not that of the spheres (both models scale R and D_s the same way)."""
    from voxode.electrochem.pybamm_reference import binned_distribution

    edges, shares = binned_distribution(np.array([R_UM]), np.array([1.0]))
    p = props(
        psd_edges_um=edges,
        psd_volume_fractions=shares,
        area_per_volume_1_m=area_factor * 3 * 0.6 / (R_UM * 1e-6),
    )
    for c_rate in (1.0, 3.0):
        single = psd_capacity(slow_params, p, c_rate, "single")
        dist = psd_capacity(slow_params, p, c_rate, "distribution")
        assert single < 0.8  # the rate is limited (not full lithiation)
        assert dist == pytest.approx(single, abs=0.005), (c_rate, single, dist)


def test_small_particles_beside_large_deliver_more_than_their_mean(slow_params):
    """Half the volume in 1.5 um and half in 4.5 um particles: the small ones fill first, so
    under solid-diffusion limitation the distribution delivers more than one particle of the
    volume-weighted radius (3 um) with the same area."""
    from voxode.electrochem.pybamm_reference import binned_distribution

    edges, shares = binned_distribution(np.array([1.5, 4.5]), np.array([1.0, 1.0]))
    area = 3 * 0.6 / (1e-6 / (0.5 / 1.5 + 0.5 / 4.5))  # spheres of the two sizes
    p = props(
        psd_edges_um=edges,
        psd_volume_fractions=shares,
        particle_radius_um=3.0,
        area_per_volume_1_m=area,
    )
    assert (
        psd_capacity(slow_params, p, 1.0, "distribution")
        > psd_capacity(slow_params, p, 1.0, "single") + 0.02
    )


def test_binned_distribution_keeps_volume():
    from voxode.electrochem.pybamm_reference import binned_distribution

    rng = np.random.default_rng(0)
    radii = rng.uniform(1.0, 7.0, 500)
    edges, shares = binned_distribution(radii, radii**3, bins=10)
    assert len(edges) == 11 and edges[0] == radii.min() and edges[-1] == radii.max()
    assert sum(shares) == pytest.approx(1.0)
    centres = 0.5 * (np.array(edges[1:]) + np.array(edges[:-1]))
    assert np.dot(centres, shares) == pytest.approx(np.average(radii, weights=radii**3), abs=0.3)
    assert binned_distribution(np.array([2.0, 2.0]), np.array([1.0, 3.0])) == ((1.96, 2.04), (1.0,))


def test_bad_distribution_and_option_are_refused(params):
    with pytest.raises(ValueError, match="psd"):
        props(psd_edges_um=(1.0, 2.0), psd_volume_fractions=(0.5, 0.5))
    with pytest.raises(ValueError, match="psd"):
        props(psd_edges_um=(2.0, 1.0), psd_volume_fractions=(1.0,))
    with pytest.raises(ValueError, match="particle_size"):
        parameter_values(params, props(), 1.0, particle_size="many")
    with pytest.raises(ValueError, match="psd_edges_um"):
        parameter_values(params, props(), 1.0, particle_size="distribution")
