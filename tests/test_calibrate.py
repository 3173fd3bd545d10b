"""`voxode calibrate`: recovers known parameters from synthetic DFN capacities, writes a set that
`--params` reads, and refuses bad data in one line without writing anything."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthetic_images import sphere_packing
from test_cli import assert_clean_error, run
from voxode.electrochem.calibrate import CalibrationError, _Problem, parse_fit
from voxode.electrochem.materials import load_parameters
from voxode.electrochem.rate_data import read_rate_data, read_rate_table

pytest.importorskip("pybamm")

BASE = "chen2020-oregan2022"
COARSE = {"x_n": 5, "x_s": 8, "x_p": 15, "r_n": 5, "r_p": 12}
MESH_ARGS = [arg for key, n in COARSE.items() for arg in ("--dfn-mesh", f"{key}={n}")]
TRUTH = {
    "active.rate_constant": 1.5e-6,
    "active.diffusivity_m2_s": 0.3,
}  # k and a factor on O'Regan's D_s(x)
RATES = [0.5, 2.0, 4.0]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A tiny electrode and the DFN's capacities on it at known parameters (the data)."""
    folder = tmp_path_factory.mktemp("calib")
    electrode = sphere_packing(
        (8, 8, 16), voxel_um=1.0, radius_vox=(2.0, 3.5), nmc_fraction=0.5, cbd_fraction=0.1, seed=1
    )
    path = folder / "tiny.npz"
    electrode.save(path)
    base = load_parameters(BASE)
    fits = [
        parse_fit(f"{name}:{lo}:{hi}", base)
        for name, lo, hi in (
            ("active.rate_constant", 1e-7, 1e-4),
            ("active.diffusivity_m2_s", 0.01, 10.0),
        )
    ]
    frame = pd.DataFrame({"design": "pristine", "c_rate": RATES, "capacity_mah_g": 0.0})
    problem = _Problem(electrode, base, fits, frame, 5.0, 3.0, COARSE)
    capacities = problem.capacities(np.array([TRUTH[f.name] for f in fits]))
    rows = pd.concat(
        [
            frame.assign(capacity_mah_g=capacities),
            pd.DataFrame({"design": ["bilayer"], "c_rate": [1.0], "capacity_mah_g": [1.0]}),
        ]
    )
    data = folder / "data.csv"
    rows.to_csv(data, index=False)
    return path, data, capacities


@pytest.mark.slow
def test_calibrate_recovers_known_parameters(synthetic, tmp_path):
    electrode, data, capacities = synthetic
    assert capacities[0] > capacities[-1] + 20  # the rates carry information
    out = tmp_path / "fit"
    proc = run(
        "calibrate",
        str(data),
        "--electrode",
        str(electrode),
        "--params",
        BASE,
        "--fit",
        "active.rate_constant:1e-7:1e-4",
        "--fit",
        "active.diffusivity_m2_s:0.01:10",
        "--profile-points",
        "0",
        "--restarts",
        "0",
        "--no-verify-3d",
        *MESH_ARGS,
        "-o",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    fit = json.loads(proc.stdout)
    values = {p["name"]: p["value"] for p in fit["parameters"]}
    for name, truth in TRUTH.items():
        assert values[name] == pytest.approx(truth, rel=0.02), (name, values)
    assert np.abs([r["residual_mah_g"] for r in fit["rates"]]).max() < 0.1
    assert len(fit["rates"]) == len(RATES)  # the bilayer row is not fitted
    fitted = load_parameters(out / "params.yaml")  # usable as --params
    assert fitted.active.rate_constant == pytest.approx(values["active.rate_constant"])
    assert fitted.active.diffusivity_m2_s.startswith(repr(values["active.diffusivity_m2_s"]))
    assert fitted.solid_diffusivity(0.5) == pytest.approx(
        values["active.diffusivity_m2_s"] * load_parameters(BASE).solid_diffusivity(0.5)
    )
    assert (out / "fit.png").stat().st_size > 10_000


@pytest.mark.slow
def test_profile_gives_the_range_within_the_uncertainty(synthetic, tmp_path):
    """One parameter profiled over its bounds: the truth lies in the range of values whose
    fit stays within sigma at every rate, and the range is narrower than the bounds."""
    from voxode.electrochem.calibrate import calibrate, write_calibration
    from voxode.electrode import Electrode

    electrode_path, data, _ = synthetic
    base = load_parameters(BASE)
    from voxode.electrochem.materials import with_values

    truth_d = with_values(
        base, {"active.diffusivity_m2_s": f"0.3*({base.active.diffusivity_m2_s})"}
    )
    rows = read_rate_data(data)
    result = calibrate(
        rows,
        Electrode.load(electrode_path),
        [parse_fit("active.rate_constant:3e-7:1e-5", truth_d)],
        params=truth_d,
        profile_points=5,
        mesh=COARSE,
        restarts=0,
    )
    entry = result.parameters[0]
    assert entry["value"] == pytest.approx(TRUTH["active.rate_constant"], rel=0.02)
    low, high = entry["identifiable_range"]
    assert low <= TRUTH["active.rate_constant"] <= high
    assert low > 3e-7 or high < 1e-5
    paths = write_calibration(
        result,
        tmp_path,
        data_path=data,
        design="pristine",
        electrode_path=electrode_path,
        base_name=truth_d.name,
    )
    assert [p.name for p in paths] == ["params.yaml", "fit.json", "fit.png"]
    saved = json.loads((tmp_path / "fit.json").read_text())
    assert saved["parameters"][0]["identifiable_range"] == [low, high]
    assert "versions" in saved and saved["design"] == "pristine"


BAD_DATA = {
    "missing columns": ("design,c_rate\npristine,1.0\n", ["missing column", "capacity_mah_g"]),
    "no rate column": ("design,capacity_mah_g\npristine,100\n", ["c_rate or current_ma_cm2"]),
    "negative rate": ("design,c_rate,capacity_mah_g\npristine,-1.0,100\n", ["c_rate", "positive"]),
    "no pristine rows": ("design,c_rate,capacity_mah_g\nbilayer,1.0,86\n", ["pristine", "bilayer"]),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_one_line_exit_2_nothing_written(synthetic, tmp_path, case):
    electrode, _, _ = synthetic
    text, words = BAD_DATA[case]
    data = tmp_path / "data.csv"
    data.write_text(text)
    out = tmp_path / "out"
    proc = run(
        "calibrate",
        str(data),
        "--electrode",
        str(electrode),
        "--fit",
        "active.rate_constant",
        "--no-verify-3d",
        "-o",
        str(out),
    )
    assert_clean_error(proc, *words)
    assert not out.exists()


def test_bad_fit_specifications(synthetic, tmp_path):
    electrode, data, _ = synthetic
    out = tmp_path / "out"
    for spec, word in (
        ("active.no_such:1:2", "unknown parameter"),
        ("active.rate_constant:2:1", "LO < HI"),
        ("cbd.ionic_model", "not a number"),
    ):
        assert_clean_error(
            run(
                "calibrate", str(data), "--electrode", str(electrode), "--fit", spec, "-o", str(out)
            ),
            word,
        )
    assert_clean_error(
        run(
            "calibrate",
            str(data),
            "--electrode",
            str(tmp_path / "missing.npz"),
            "--fit",
            "active.rate_constant",
            "-o",
            str(out),
        )
    )
    assert not out.exists()
    with pytest.raises(CalibrationError, match="not found"):
        read_rate_data(tmp_path / "nothing.csv")


def test_reads_the_papers_rate_test():
    rows = read_rate_data("chouchane2024")  # shipped: the paper's cells
    assert list(rows["c_rate"]) == [0.5, 1.0]
    assert list(rows["capacity_mah_g"]) == [134.4, 38.2]
    assert len(read_rate_data("chouchane2024", design="bilayer")) == 2  # C/10 has no capacity
    reference = Path(__file__).parents[2] / "shared" / "reference" / "paper_rate_test.csv"
    if reference.is_file():  # the shipped copy is the project's reference data, unchanged
        assert read_rate_table("chouchane2024").equals(read_rate_table(reference))


@pytest.mark.slow
def test_verify_3d_discharges_the_image_with_the_fitted_set(synthetic):
    """--verify-3d: the 3D model on the same image with the fitted set lands near the DFN it
    was fitted with (one rate, one parameter to keep it short)."""
    from voxode.electrochem.calibrate import calibrate
    from voxode.electrode import Electrode

    electrode_path, data, _ = synthetic
    base = load_parameters(BASE)
    rows = read_rate_data(data).iloc[[1]]  # 2C
    result = calibrate(
        rows,
        Electrode.load(electrode_path),
        [parse_fit("active.rate_constant:3e-7:1e-5", base)],
        params=base,
        profile_points=0,
        mesh=COARSE,
        restarts=0,
        verify_3d=True,
    )
    (check,) = result.verify_3d
    assert check["end_reason"] == "cut-off reached"
    assert abs(check["3d_mah_g"] / check["dfn_mah_g"] - 1) < 0.08, check


def test_model_and_space_mapping_options_are_one_line_errors(synthetic, tmp_path):
    electrode, data, _ = synthetic
    out = tmp_path / "out"
    common = (
        "calibrate",
        str(data),
        "--electrode",
        str(electrode),
        "--fit",
        "active.rate_constant",
        "-o",
        str(out),
    )
    assert_clean_error(run(*common, "--model", "spm"), "--model", "dfn-psd")
    assert_clean_error(run(*common, "--space-mapping", "-1"), "--space-mapping")
    assert_clean_error(
        run(*common, "--space-mapping", "1", "--linear-solver", "magic"), "linear solver"
    )
    assert_clean_error(run(*common, "--dfn-mesh", "R_q=4"), "R_p")
    assert not out.exists()


@pytest.mark.parametrize("map_radius", [False, True])
def test_space_mapping_brings_the_3d_model_to_the_data(synthetic, map_radius):
    """--space-mapping: the DFN is re-fitted to measured - (3D - DFN), which brings the 3D model
    itself closer to the measured capacity (one rate, one parameter, one re-fit; sigma 0.5 mAh/g
    so that the DFN-only fit is not already within it in 3D). On this image the DFN-only fit
    is 6 mAh/g off in 3D and the first re-fit without radius mapping 2.3 (the next 0.8)."""
    from voxode.electrochem.calibrate import calibrate
    from voxode.electrode import Electrode

    electrode_path, data, _ = synthetic
    base = load_parameters(BASE)
    rows = read_rate_data(data).iloc[[1]]  # 2C
    result = calibrate(
        rows,
        Electrode.load(electrode_path),
        [parse_fit("active.diffusivity_m2_s:0.01:10", base)],
        params=base,
        sigma_mah_g=0.5,
        profile_points=0,
        mesh=COARSE,
        restarts=0,
        space_mapping=1,
        map_radius=map_radius,
        linear_solver="direct",
    )
    first, last = result.space_mapping
    measured = float(rows["capacity_mah_g"].iloc[0])
    assert abs(first["3d_residual_mah_g"][0]) > 0.5  # the DFN-only fit misses in 3D
    for step in (first, last):
        assert step["offset_mah_g"][0] == pytest.approx(step["3d_mah_g"][0] - step["dfn_mah_g"][0])
    assert last["surrogate_mah_g"][0] == pytest.approx(
        measured, abs=0.5
    )  # the re-fit aimed at the data
    assert abs(last["3d_residual_mah_g"][0]) < 0.6 * abs(first["3d_residual_mah_g"][0])
    (check,) = result.verify_3d  # the last set's 3D run, not repeated
    assert check["3d_mah_g"] == last["3d_mah_g"][0]
    assert result.rates["offset_mah_g"].iloc[0] == pytest.approx(first["offset_mah_g"][0])
    assert abs(result.rates["residual_mah_g"].iloc[0]) < 0.5  # the mapped DFN fits the data
    assert result.radius_scale == first["radius_scale"]
    assert (result.radius_scale != 1.0) == map_radius  # the DFN's radius was mapped too


def test_psd_model_fits_on_the_image_size_distribution(synthetic):
    """--model dfn-psd: the DFN with the image's particle sizes fits one rate exactly; its
    effective properties carry the binned distribution."""
    from voxode.electrochem.calibrate import calibrate
    from voxode.electrode import Electrode

    electrode_path, data, _ = synthetic
    base = load_parameters(BASE)
    rows = read_rate_data(data).iloc[[1]]
    result = calibrate(
        rows,
        Electrode.load(electrode_path),
        [parse_fit("active.diffusivity_m2_s:0.01:10", base)],
        params=base,
        profile_points=0,
        mesh=COARSE | {"R_p": 6},
        restarts=0,
        model="dfn-psd",
    )
    assert result.model == "dfn-psd"
    assert abs(result.rates["residual_mah_g"].iloc[0]) < 0.5
    props = result.effective_properties
    assert len(props["psd_edges_um"]) == len(props["psd_volume_fractions"]) + 1 >= 3
    assert sum(props["psd_volume_fractions"]) == pytest.approx(1.0)
