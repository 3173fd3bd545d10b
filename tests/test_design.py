"""Design studies: designs share layers voxel for voxel, gains against the first design per
seed, failed cases in the tables, the rate test with an experimental overlay, CLI errors.

The simulated cases are tiny (10 x 10 x 12 um^3 at 1 um, cut-off 3.6 V): three discharges in
all, shared by the compare and rate tests through one cases folder."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from voxode.campaign import Case, CaseResult
from voxode.design import DesignError, compare_designs, rate_test
from voxode.design.compare import comparison_table, identical_layers
from voxode.design.rate import experiment_summary, parse_rates, read_experimental
from voxode.design.study import seed_list, spread
from voxode.generate import generate
from voxode.recipe import Recipe, load_preset, recipe_from_dict, recipe_to_yaml

OK_SEED = 3  # every tiny design below generates and percolates
CUTOFF_V = 3.6  # ends the tiny discharges early (each ~30 s on a loaded machine)
PSD = {"d10_um": 3.0, "d50_um": 3.6, "d90_um": 4.5, "d_min_um": 2.8, "d_max_um": 5.0}
MIXED = [
    {"name": "pristine", "mass_fraction": 0.75, "size_scale": 1.0},
    {"name": "shrunk", "mass_fraction": 0.25, "size_scale": 0.72},
]


def tiny_design(
    name: str, mixed: str | None = None, seed: int = OK_SEED, porosity: float = 0.4
) -> Recipe:
    """Two half-thickness layers like the paper presets; ``mixed`` names the layer ("bottom" at
    the collector, "top" at the separator) that mixes 25 wt% smaller particles. At
    ``porosity=0.05`` (CBD without nanopores) no seed packs it: its cases fail in packing."""
    base = load_preset("paper-pristine").model_dump(mode="json")
    base |= {"name": name, "seed": seed, "box_um": [10.0, 10.0, 12.0], "voxel_um": 1.0}
    layer = base["layers"][0] | {"porosity": porosity, "psd": PSD}
    if porosity < 0.1:
        layer["cbd_nanoporosity"] = 0.0  # else the CBD phase alone would exceed the pore volume
    base["layers"] = [
        layer
        | {"name": n, "thickness_fraction": 0.5}
        | ({"populations": MIXED} if n == mixed else {})
        for n in ("bottom", "top")
    ]
    return recipe_from_dict(base, source="tiny design")


def fake_result(capacity: float | None, seed: int, tmp: Path) -> CaseResult:
    case = Case(tiny_design("x", seed=seed), 1.0)
    if capacity is None:
        return CaseResult(case, tmp / case.key, "failed", error="PackingError: no path")
    return CaseResult(
        case,
        tmp / case.key,
        "ok",
        summary={
            "capacity_mah_cm2": capacity,
            "capacity_mah_g": 100 * capacity,
            "capacity_ah_l": 400 * capacity,
            "cutoff_reached": True,
        },
    )


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxode.cli", *args], capture_output=True, text=True
    )


def test_seeds_and_rates_are_checked():
    assert seed_list(3, 42) == [42, 43, 44]
    assert seed_list([7, 2], 42) == [7, 2]
    assert parse_rates(" 0.1, 0.2,0.5 ,1") == [0.1, 0.2, 0.5, 1.0]
    for bad in (
        lambda: seed_list(0, 1),
        lambda: seed_list([], 1),
        lambda: seed_list([2, 2], 1),
        lambda: parse_rates(" , "),
        lambda: parse_rates("0.1,fast"),
    ):
        with pytest.raises(DesignError):
            bad()


def test_gain_is_per_seed_against_the_first_design_and_failures_stay_in_the_table(tmp_path):
    designs = [
        tiny_design("pristine"),
        tiny_design("bilayer", "bottom"),
        tiny_design("reverse", "top"),
    ]
    seeds = [1, 2, 3]
    caps = [[1.0, 2.0, 4.0], [1.1, 2.4, None], [0.9, None, 3.0]]
    results = [
        [fake_result(c, s, tmp_path) for c, s in zip(row, seeds, strict=True)] for row in caps
    ]
    table = comparison_table(designs, seeds, results)
    assert list(table["design"]) == ["pristine"] * 3 + ["bilayer"] * 3 + ["reverse"] * 3
    bilayer = table[table["design"] == "bilayer"]
    assert bilayer["gain_mah_cm2_pct"].iloc[:2].tolist() == pytest.approx([10.0, 20.0])
    assert math.isnan(bilayer["gain_mah_cm2_pct"].iloc[2])  # failed case: no gain
    assert bilayer["status"].tolist() == ["ok", "ok", "failed"]
    assert "PackingError" in bilayer["error"].iloc[2]
    assert table[table["design"] == "pristine"]["gain_mah_cm2_pct"].tolist() == [0.0, 0.0, 0.0]
    assert table[table["design"] == "reverse"]["gain_mah_g_pct"].dropna().tolist() == pytest.approx(
        [-10.0, -25.0]
    )
    stats = spread(table, "design", ["gain_mah_cm2_pct"]).set_index("design")
    assert stats.loc["bilayer", "gain_mah_cm2_pct_mean"] == pytest.approx(15.0)
    assert stats.loc["bilayer", "gain_mah_cm2_pct_std"] == pytest.approx(
        np.std([10.0, 20.0], ddof=1)
    )
    assert (
        stats.loc["bilayer", "gain_mah_cm2_pct_min"],
        stats.loc["bilayer", "gain_mah_cm2_pct_max"],
    ) == pytest.approx((10.0, 20.0))
    assert (stats.loc["bilayer", "n_ok"], stats.loc["bilayer", "n_failed"]) == (2, 1)


def test_designs_share_the_unchanged_layer_voxel_for_voxel():
    pristine = generate(tiny_design("pristine"))
    bilayer = generate(tiny_design("bilayer", "bottom"))
    reverse = generate(tiny_design("reverse", "top"))
    half = pristine.shape[2] // 2
    assert np.array_equal(pristine.phases[:, :, half:], bilayer.phases[:, :, half:])
    assert not np.array_equal(pristine.phases[:, :, :half], bilayer.phases[:, :, :half])
    assert identical_layers(bilayer, pristine) == ["top"]
    # layers are packed from the separator down: a changed top layer changes the bottom one too
    assert identical_layers(reverse, pristine) == []
    assert identical_layers(pristine, pristine) == ["bottom", "top"]


def test_experimental_csv_is_parsed_and_checked(tmp_path):
    good = tmp_path / "cells.csv"
    good.write_text("rate,cell,capacity_mah_g\n0.1,A,200\n0.1,B,194\n1,A,86\n1,B,60\n1,C,112\n")
    summary = experiment_summary(read_experimental(good)).set_index("rate")
    assert summary.loc[1.0, "cells"] == 3
    assert summary.loc[
        1.0, ["capacity_mah_g_mean", "capacity_mah_g_min", "capacity_mah_g_max"]
    ].tolist() == pytest.approx([86.0, 60.0, 112.0])
    for text, words in [
        ("rate,capacity_mah_g\n1,80\n", "missing column(s) cell"),
        ("rate,cell,capacity_mah_g\n", "no rows"),
        ("rate,cell,capacity_mah_g\n1,A,80\n-1,B,70\n", "data row 2: rate must be a positive"),
        ("rate,cell,capacity_mah_g\n1C,A,80\n", "rate must be a positive number, got '1C'"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(DesignError, match=words.replace("(", r"\(").replace(")", r"\)")):
            read_experimental(bad)


@pytest.fixture(scope="module")
def cases_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cases")


@pytest.fixture(scope="module")
def comparison(cases_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return out, compare_designs(
        [
            tiny_design("pristine"),
            tiny_design("bilayer", "bottom"),
            tiny_design("tight", porosity=0.05),
        ],
        1.0,
        [OK_SEED],
        out,
        cutoff_v=CUTOFF_V,
        cases_dir=cases_dir,
    )


@pytest.mark.slow
def test_compare_tables_and_figures(comparison):
    out, result = comparison
    table = result.table.set_index(["design", "seed"])
    assert (
        table.loc[("pristine", OK_SEED), "status"]
        == table.loc[("bilayer", OK_SEED), "status"]
        == "ok"
    )
    assert table.loc[("tight", OK_SEED), "status"] == "failed"  # failures reported, not raised
    assert "PackingError" in table.loc[("tight", OK_SEED), "error"]
    summaries = {
        d: json.loads((result.results[k].folder / "run" / "summary.json").read_text())
        for k, d in ((0, "pristine"), (1, "bilayer"))
    }
    expected = 100 * (
        summaries["bilayer"]["capacity_mah_cm2"] / summaries["pristine"]["capacity_mah_cm2"] - 1
    )
    assert table.loc[("bilayer", OK_SEED), "gain_mah_cm2_pct"] == pytest.approx(expected, rel=1e-12)
    assert table.loc[("bilayer", OK_SEED), "capacity_ah_l"] == pytest.approx(
        summaries["bilayer"]["capacity_ah_l"]
    )
    assert table.loc[("bilayer", OK_SEED), "shared_layers"] == "top"
    csv = pd.read_csv(out / "compare.csv")
    assert len(csv) == 3 and set(csv["status"]) == {"ok", "failed"}
    text = (out / "compare.json").read_text()
    assert "NaN" not in text  # strict JSON: missing values are null
    payload = json.loads(text)
    assert payload["reference"] == "pristine" and payload["seeds"] == [OK_SEED]
    assert [d["n_failed"] for d in payload["designs"]] == [0, 0, 1]
    for name in ("voltage.png", "sod_depth.png", "gain.png"):
        with Image.open(out / name) as image:
            assert image.info["dpi"] == pytest.approx((200, 200), abs=0.5)


@pytest.mark.slow
def test_rate_test_reuses_cases_and_overlays_the_experiment(comparison, cases_dir, tmp_path):
    cells = tmp_path / "cells.csv"
    cells.write_text("rate,cell,capacity_mah_g\n1,A,150\n1,B,130\n2,A,90\n")
    result = rate_test(
        tiny_design("pristine"),
        [2.0, 1.0],
        [OK_SEED],
        tmp_path / "rate",
        experimental=cells,
        cutoff_v=CUTOFF_V,
        cases_dir=cases_dir,
    )
    assert result.table["rate"].tolist() == [1.0, 2.0]  # sorted
    assert result.results[0].skipped  # the 1C case of the comparison
    one_c = (
        comparison[1]
        .table.set_index(["design", "seed"])
        .loc[("pristine", OK_SEED), "capacity_mah_g"]
    )
    caps = result.summary.set_index("rate")["capacity_mah_g_mean"]
    assert caps[1.0] == pytest.approx(one_c)
    assert caps[2.0] < caps[1.0]
    assert result.experimental.set_index("rate").loc[1.0, "capacity_mah_g_mean"] == pytest.approx(
        140.0
    )
    payload = json.loads((tmp_path / "rate" / "rate.json").read_text())
    assert payload["experimental"][0]["cells"] == 2
    for name in ("rate.png", "rate_voltage.png"):
        assert (tmp_path / "rate" / name).is_file()


@pytest.mark.slow
def test_cli_reuses_finished_cases_and_exits_1_when_a_case_failed(comparison, cases_dir, tmp_path):
    files = []
    for name, mixed in (("pristine", None), ("bilayer", "bottom")):
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(recipe_to_yaml(tiny_design(name, mixed)))
    common = ["--cutoff-v", str(CUTOFF_V), "--cases-dir", str(cases_dir), "--json"]
    proc = run_cli(
        "design", "compare", *map(str, files), "--seeds", "1", "-o", str(tmp_path / "cmp"), *common
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert [(c["design"], c["seed"], c["status"]) for c in payload["cases"]] == [
        ("pristine", OK_SEED, "ok"),
        ("bilayer", OK_SEED, "ok"),
    ]
    assert payload["designs"][1]["gain_mah_cm2_pct_mean"] == pytest.approx(
        comparison[1].summary.set_index("design").loc["bilayer", "gain_mah_cm2_pct_mean"]
    )
    tight = tmp_path / "tight.yaml"
    tight.write_text(recipe_to_yaml(tiny_design("tight", porosity=0.05)))
    proc = run_cli(
        "design",
        "rate",
        str(tight),
        "--rates",
        "1",
        "--base-seed",
        str(OK_SEED),
        "-o",
        str(tmp_path / "rate"),
        *common,
    )
    assert proc.returncode == 1  # the study finished, a case failed
    assert json.loads(proc.stdout)["cases"][0]["status"] == "failed"
    assert (tmp_path / "rate" / "rate.csv").is_file()


@pytest.mark.parametrize(
    "args, words",
    [
        (["compare", "no-such-design"], "unknown preset 'no-such-design'"),
        (["compare", "paper-pristine", "--c-rate", "0"], "--c-rate must be a positive number"),
        (["rate", "paper-pristine", "--rates", ""], "--rates is empty"),
        (["rate", "paper-pristine", "--rates", "0.5,-1"], "every C-rate must be a positive number"),
        (
            ["rate", "paper-pristine", "--experimental", "missing.csv"],
            "experimental file not found",
        ),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    proc = run_cli("design", *args, "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing ran
