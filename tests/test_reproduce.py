"""`voxode reproduce`: presets, and the whole chain on tiny electrodes into a report folder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from voxode.electrochem.materials import load_parameters
from voxode.electrochem.rate_data import read_rate_table
from voxode.recipe import load_preset
from voxode.reproduce import ReproduceError, load_reproduce_preset, reproduce


def test_shipped_presets_load_and_name_real_recipes():
    for name in ("quick", "paper"):
        preset = load_reproduce_preset(name)
        for recipe in [
            preset.training.recipe,
            *preset.designs.recipes,
            preset.rate.recipe,
            preset.screen.base,
        ]:
            load_preset(recipe)
        load_parameters(preset.params)  # a set that exists
        if preset.cells is not None:  # real recipes, and designs that the data have
            data = read_rate_table(preset.cells.data)
            for recipe, design in preset.cells.designs.items():
                load_preset(recipe)
                assert design in set(data["design"])
            assert set(preset.cells.fitted) <= set(preset.cells.designs.values())
    paper = load_reproduce_preset("paper")
    assert paper.training.n_seeds == 10
    assert paper.params == "paper-pristine-calibrated"  # the paper's study on the calibrated set
    assert paper.cells.fitted == ["pristine"]  # calibrated on the pristine cells only
    quick = load_reproduce_preset("quick")
    assert quick.cells is None  # miniature electrodes are not the cells
    # make demo's workflow at the paper's thickness, where the SOD gradient shows
    thickness = load_preset("paper-pristine").box_um[2]
    assert all(load_preset(r).box_um[2] == thickness for r in quick.designs.recipes)


def test_bad_presets_are_one_line_errors(tmp_path):
    with pytest.raises(ReproduceError, match="unknown reproduce preset"):
        load_reproduce_preset("fast")
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump({"name": "x", "training": {"recipe": "mini-pristine", "n_seeds": 1}})
    )
    with pytest.raises(ReproduceError, match="n_seeds"):
        load_reproduce_preset(path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxode.cli",
            "reproduce",
            "--preset",
            str(path),
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert (
        proc.returncode == 2 and "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
    )


def tiny_designs(folder: Path) -> dict[str, str]:
    """Two-layer 10 x 10 x 16 um versions of the pristine
    and bi-layer designs (files in ``folder``)."""
    names = {}
    for kind in ("pristine", "bilayer"):
        data = load_preset(f"mini-{kind}").model_dump(mode="json")
        data |= {"name": f"tiny-{kind}", "box_um": [10.0, 10.0, 16.0], "seed": 2}
        for layer in data["layers"]:
            layer["psd"] = {
                "d10_um": 3.5,
                "d50_um": 4.0,
                "d90_um": 5.0,
                "d_min_um": 3.0,
                "d_max_um": 6.0,
            }
        path = folder / f"tiny-{kind}.yaml"
        path.write_text(yaml.safe_dump(data))
        names[kind] = str(path)
    return names


@pytest.mark.slow
def test_reproduce_writes_a_report_whose_figures_exist(tmp_path):
    r = tiny_designs(tmp_path)
    cells_csv = tmp_path / "cells.csv"
    cells_csv.write_text("design,c_rate,capacity_mah_g\np,2.0,100.0\nb,2.0,120.0\nb,1.0,150.0\n")
    preset = load_reproduce_preset("quick")
    preset = preset.model_validate(
        preset.model_dump()
        | {
            "folds": 3,
            "cutoff_v": 3.6,
            "training": {
                "recipe": r["pristine"],
                "n_seeds": 3,
                "base_seed": 10,
                "c_rate": 2.0,
                "holdout_seed": 7,
            },
            "designs": {"recipes": [r["pristine"], r["bilayer"]], "seeds": 1, "c_rate": 2.0},
            "rate": {"recipe": r["bilayer"], "rates": [2.0], "seeds": 1},
            "screen": {
                "base": r["bilayer"],
                "samples": 2,
                "top_k": 1,
                "parameters": {"layer_split": [0.45, 0.55], "shrunk_fraction": [0.1, 0.3]},
            },
            # made-up cells at the comparison's rate: its cases, nothing more to simulate
            "cells": {
                "data": str(cells_csv),
                "designs": {r["pristine"]: "p", r["bilayer"]: "b"},
                "fitted": ["p"],
                "c_rates": [2.0],
                "seeds": 1,
            },
        }
    )
    result = reproduce(preset, tmp_path / "out")
    out = tmp_path / "out"
    md = (out / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(images) >= 10 and all(
        (out / image).is_file() and (out / image).stat().st_size > 1000 for image in images
    )
    assert (out / "report.html").read_text().count("<img") == len(images)
    numbers = result.numbers.set_index("quantity")
    assert numbers.loc["surrogate MAE, electrodes held out (grouped CV)", "paper"] == 0.042
    metrics = json.loads((out / "model" / "metrics.json").read_text())
    assert (
        numbers.loc["surrogate MAE, electrodes held out (grouped CV)", "voxode"]
        == metrics["grouped"]["mae"]
    )
    # the cells: measured beside simulated, the bi-layer predicted, its gain beside the cells'
    assert "## 8. The parameter set beside the cells" in md
    capacities = pd.read_csv(out / "cells" / "capacities.csv").set_index("design")
    assert list(capacities["role"]) == ["fitted", "predicted"]
    assert list(capacities["measured_mah_g"]) == [100.0, 120.0]  # the 1C row has no simulation
    simulated = pd.read_csv(out / "designs" / "compare.csv").groupby("design")["capacity_mah_g"]
    bilayer = simulated.mean()["tiny-bilayer"]
    assert capacities.loc["b", "simulated_mah_g_mean"] == pytest.approx(bilayer)
    assert numbers.loc["b: 2C capacity (mAh/g, predicted)", "paper"] == "120 (cells)"
    assert numbers.loc["b: 2C gain (%, mAh/g, predicted)", "paper"] == "+20 (cells)"
    # the thick-electrode gradient: end-of-discharge SOD at the collector and the separator
    sod = numbers.loc["tiny-pristine: 2C end-of-discharge SOD, collector / separator third"]
    collector, separator = (float(v) for v in sod["voxode"].split(" / "))
    assert 0.0 <= collector <= 1.0 and 0.0 <= separator <= 1.0
    assert sod["paper"] == "lower at the collector (Fig. 2B)"
    # every simulation lives once in cases/: the rate test's 2C bi-layer case is the comparison's
    keys = [p.name for p in (out / "cases").iterdir()]
    assert len(keys) == len(set(keys)) == 3 + 1 + 2 + 1
    assert all(
        json.loads((out / "cases" / k / "case.json").read_text())["cutoff_v"] == 3.6 for k in keys
    )
    # a rerun skips everything that finished
    again = reproduce(preset, out)
    assert again.timings_s["training campaign"] < result.timings_s["training campaign"]
