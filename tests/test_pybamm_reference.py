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
