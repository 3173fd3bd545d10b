"""Parameter sets from BPX files: the quantities BPX covers map onto voxode's, the rest comes
from the base set, and bad files fail in one line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from voxode.electrochem.materials import FARADAY_C_MOL, ParameterError, load_parameters

bpx = pytest.importorskip("bpx")

CHEN_OCP = (
    "-0.8090*x + 4.4875 - 0.0428*tanh(18.5138*(x - 0.5542)) - 17.7326*tanh(15.7890*(x - 0.3117))"
    " + 17.5842*tanh(15.9308*(x - 0.3120))"
)
GRAPHITE_OCP = (
    "1.9793*exp(-39.3631*x) + 0.2482 - 0.0909*tanh(29.8538*(x - 0.1234))"
    " - 0.04478*tanh(14.9159*(x - 0.2769)) - 0.0205*tanh(30.4444*(x - 0.6103))"
)
C_MAX = 63104.0
K_VOXODE = 3.42e-6  # Chen2020, A/m^2 (m^3/mol)^1.5


def lg_m50() -> dict:
    """A BPX file of the LG M50 cell of Chen et al. (2020) (values of PyBaMM's Chen2020 set)."""
    return {
        "Header": {
            "BPX": "1.0.0",
            "Title": "LG M50 (Chen 2020)",
            "Model": "DFN",
            "Description": "test file",
            "References": "Chen et al., J. Electrochem. Soc. 167 (2020) 080534",
        },
        "Parameterisation": {
            "Cell": {
                "Electrode area [m2]": 0.1027,
                "Number of electrode pairs connected in parallel to make a cell": 1,
                "Lower voltage cut-off [V]": 2.49,
                "Upper voltage cut-off [V]": 4.2,
                "Nominal cell capacity [A.h]": 5.0,
                "Reference temperature [K]": 298.15,
            },
            "Electrolyte": {
                "Cation transference number": 0.2594,
                "Conductivity [S.m-1]": "0.1297*(x/1000)**3 - 2.51*(x/1000)**1.5 + 3.329*(x/1000)",
                "Diffusivity [m2.s-1]": "8.794e-11*(x/1000)**2 - 3.972e-10*(x/1000) + 4.862e-10",
            },
            "Negative electrode": {
                "Thickness [m]": 85.2e-6,
                "Porosity": 0.25,
                "Transport efficiency": 0.125,
                "Conductivity [S.m-1]": 215.0,
                "Minimum stoichiometry": 0.0279,
                "Maximum stoichiometry": 0.9014,
                "Maximum concentration [mol.m-3]": 33133.0,
                "Particle radius [m]": 5.86e-6,
                "Surface area per unit volume [m-1]": 383959.0,
                "Diffusivity [m2.s-1]": 3.3e-14,
                "OCP [V]": GRAPHITE_OCP,
                "Reaction rate constant [mol.m-2.s-1]": 6.7e-11,
            },
            "Positive electrode": {
                "Thickness [m]": 75.6e-6,
                "Porosity": 0.335,
                "Transport efficiency": 0.1939,
                "Conductivity [S.m-1]": 0.18,
                "Minimum stoichiometry": 0.2661,
                "Maximum stoichiometry": 0.9084,
                "Maximum concentration [mol.m-3]": C_MAX,
                "Particle radius [m]": 5.22e-6,
                "Surface area per unit volume [m-1]": 382184.0,
                "Diffusivity [m2.s-1]": "4e-15*(1 + 0.5*x)",
                "OCP [V]": CHEN_OCP,
                "Reaction rate constant [mol.m-2.s-1]": K_VOXODE
                * C_MAX
                * math.sqrt(1000.0)
                / FARADAY_C_MOL,
            },
            "Separator": {"Thickness [m]": 12e-6, "Porosity": 0.47, "Transport efficiency": 0.3222},
        },
    }


def test_bpx_maps_what_it_covers(tmp_path):
    path = tmp_path / "lgm50.json"
    path.write_text(json.dumps(lg_m50()))
    p = load_parameters(path)
    chen = load_parameters()
    assert p.name == "LG M50 (Chen 2020)" and "BPX" in p.references
    assert p.active.c_max_mol_m3 == C_MAX and p.active.x_initial == 0.2661
    assert p.active.rate_constant == pytest.approx(K_VOXODE, rel=1e-12)
    x = np.linspace(0.27, 0.9, 20)
    assert np.allclose(p.ocp(x), chen.ocp(x), atol=1e-12)
    assert p.solid_diffusivity(0.5) == pytest.approx(5e-15)
    c = np.linspace(200.0, 2000.0, 10)
    assert np.allclose(p.kappa(c), chen.kappa(c)) and np.allclose(
        p.diffusivity_e(c), chen.diffusivity_e(c)
    )
    assert p.separator.thickness_um == pytest.approx(12.0)
    assert 0.47**p.separator.bruggeman == pytest.approx(0.3222)
    # BPX does not describe these: the base set's values
    assert (
        p.cbd == chen.cbd and p.lithium_foil == chen.lithium_foil and p.collector == chen.collector
    )
    assert p.active.conductivity_s_m == chen.active.conductivity_s_m


def test_bad_bpx_files_fail_in_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ParameterError, match="JSON"):
        load_parameters(bad)
    data = lg_m50()
    del data["Parameterisation"]["Positive electrode"]["OCP [V]"]
    bad.write_text(json.dumps(data))
    with pytest.raises(ParameterError, match="not a valid BPX file"):
        load_parameters(bad)
    data = lg_m50()
    data["Parameterisation"]["Positive electrode"]["OCP [V]"] = {
        "x": [0.0, 0.5, 1.0],
        "y": [4.3, 3.8, 3.0],
    }
    bad.write_text(json.dumps(data))
    with pytest.raises(ParameterError, match="tabulated"):
        load_parameters(bad)
    with pytest.raises(ParameterError, match="not found"):
        load_parameters(tmp_path / "missing.json")
