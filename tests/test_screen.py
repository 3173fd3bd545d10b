"""Surrogate screening: the sampled space, the recipes it makes, and a screening run whose best
design is simulated."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from surrogate_data import known_dataset, tiny_tables
from voxode.design.screen import ScreenSpace, design_recipe, load_space, sample, screen
from voxode.design.study import DesignError
from voxode.recipe import load_preset
from voxode.surrogate.training import train

RANGES = {
    "layer_split": [0.4, 0.6],
    "shrunk_fraction": [0.0, 0.4],
    "porosity_separator": [0.38, 0.42],
    "shrink_factor": 0.67,
}


@pytest.mark.parametrize("sampler", ["sobol", "lhs"])
def test_samples_fill_the_ranges_and_repeat_with_the_seed(sampler):
    space = ScreenSpace(model="m", samples=12, sampler=sampler, parameters=RANGES)
    points = sample(space)
    assert list(points.columns) == [
        "layer_split",
        "shrunk_fraction",
        "shrink_factor",
        "porosity_separator",
    ]
    assert len(points) == 12 and (points["shrink_factor"] == 0.67).all()
    for name in ("layer_split", "shrunk_fraction", "porosity_separator"):
        low, high = RANGES[name]
        assert points[name].between(low, high).all() and points[name].std() > 0.2 * (
            high - low
        ) / np.sqrt(12)
    pd.testing.assert_frame_equal(points, sample(space))
    assert not sample(space.model_copy(update={"seed": 1})).equals(points)


def test_design_recipes_change_what_they_name():
    base = load_preset("mini-bilayer")
    recipe = design_recipe(
        base,
        {
            "layer_split": 0.4,
            "shrunk_fraction": 0.3,
            "shrink_factor": 0.7,
            "porosity_collector": 0.42,
        },
        "d1",
    )
    bottom, top = recipe.layers
    assert recipe.name == "d1" and (bottom.thickness_fraction, top.thickness_fraction) == (0.4, 0.6)
    assert bottom.porosity == 0.42 and top.porosity == base.layers[1].porosity
    assert [(p.mass_fraction, p.size_scale) for p in bottom.populations] == [(0.7, 1.0), (0.3, 0.7)]
    assert top.populations == base.layers[1].populations
    plain = design_recipe(base, {"shrunk_fraction": 0.0}, "d2")
    assert [p.name for p in plain.layers[0].populations] == ["pristine"]
    with pytest.raises(DesignError, match="two-layer"):
        design_recipe(base.model_copy(update={"layers": base.layers[:1]}), {}, "d3")


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"parameters": {"layer_thickness": [0.1, 0.2]}}, ["unknown parameter", "layer_thickness"]),
        ({"parameters": {"layer_split": [0.6, 0.4]}}, ["low <= high"]),
        ({"sampler": "grid"}, ["sampler"]),
        ({"samples": 0}, ["samples"]),
    ],
)
def test_bad_screening_files_are_one_line_errors(tmp_path, fields, words):
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"model": "model", "parameters": RANGES} | fields))
    with pytest.raises(DesignError) as info:
        load_space(path)
    assert all(w in str(info.value) for w in words) and "\n" not in str(info.value)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxode.cli",
            "design",
            "screen",
            str(path),
            "-o",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1


@pytest.mark.slow
def test_screening_scores_every_design_and_simulates_the_best(tmp_path):
    train(known_dataset(tiny_tables()), params={"n_estimators": 40, "min_samples_leaf": 3}).save(
        tmp_path / "model"
    )
    base = load_preset("mini-bilayer").model_dump(mode="json")
    base |= {
        "name": "small",
        "box_um": [10.0, 10.0, 16.0],
        "seed": 3,
        "voxel_um": 0.5,
    }  # the model's voxels
    for layer in base["layers"]:
        layer["psd"] = {
            "d10_um": 3.5,
            "d50_um": 4.0,
            "d90_um": 5.0,
            "d_min_um": 3.0,
            "d_max_um": 6.0,
        }
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(base))
    spec = {
        "base": "small.yaml",
        "model": "model",
        "samples": 4,
        "top_k": 1,
        "cutoff_v": 3.6,
        "seed": 3,
        "parameters": {"layer_split": [0.4, 0.6], "shrunk_fraction": [0.0, 0.3]},
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(spec))
    space, folder = load_space(tmp_path / "space.yaml")
    result = screen(space, tmp_path / "out", folder)
    table = result.designs
    assert len(table) == 4 and set(table["design"]) == {f"small-d{k:03d}" for k in range(4)}
    scored = table.dropna(subset=["predicted_mah_cm2"])
    assert len(scored) >= 2 and list(scored["rank"]) == list(range(1, len(scored) + 1))
    assert scored["predicted_mah_cm2"].is_monotonic_decreasing
    best = table.iloc[0]
    assert best["simulated_mah_cm2"] > 0 and table["simulated_mah_cm2"].notna().sum() == 1
    summary = json.loads(
        (tmp_path / "out" / "cases" / best["case"] / "run" / "summary.json").read_text()
    )
    assert summary["capacity_mah_cm2"] == best["simulated_mah_cm2"] and summary["cutoff_v"] == 3.6
    err = (best["predicted_mah_cm2"] - best["simulated_mah_cm2"]) / best["simulated_mah_cm2"]
    assert result.verification["mean_abs_relative_error"] == pytest.approx(abs(err))
    assert {p.name for p in result.files} == {"screen.csv", "screen.json", "screen.png"}
    case = json.loads((tmp_path / "out" / "cases" / best["case"] / "case.json").read_text())
    assert case["recipe"]["name"] == best["design"]


def test_a_surrogate_refuses_designs_at_a_voxel_size_it_was_not_trained_at(tmp_path):
    """The stored tables are at 0.5 um: screening at 1 um is a one-line error before any work."""
    train(known_dataset(tiny_tables()), params={"n_estimators": 5}).save(tmp_path / "model")
    spec = {
        "base": "mini-bilayer",
        "model": "model",
        "samples": 2,
        "top_k": 0,
        "voxel_um": 1.0,
        "parameters": {"layer_split": [0.4, 0.6]},
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(spec))
    space, folder = load_space(tmp_path / "space.yaml")
    with pytest.raises(
        DesignError, match="trained on electrodes at 0.5 um voxels, the designs are at 1 um"
    ):
        screen(space, tmp_path / "out", folder)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxode.cli",
            "design",
            "screen",
            str(tmp_path / "space.yaml"),
            "-o",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert not (tmp_path / "out").exists()
