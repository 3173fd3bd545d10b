"""Campaigns: case keys, resume after a kill, Dask, failures per case, the per-particle dataset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import tiny_recipe
from voxode.campaign import (
    CampaignError,
    CampaignSpec,
    Case,
    campaign_results,
    load_campaign,
    run_campaign,
)
from voxode.characterize import COLUMNS
from voxode.design.study import seed_list
from voxode.electrochem.materials import FARADAY_C_MOL, load_parameters
from voxode.electrode import Electrode
from voxode.recipe import recipe_from_dict, recipe_to_yaml
from voxode.surrogate.dataset import build_dataset
from voxode.surrogate.features import DATASET_COLUMNS

SEEDS = [2, 3]


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxode.cli", *args], capture_output=True, text=True, **kwargs
    )


def tight_recipe():
    """The tiny recipe at 5 % porosity: no seed packs it (PackingError), so its cases fail."""
    data = tiny_recipe().model_dump(mode="json")
    data["name"] = "tight"
    data["layers"][0] |= {"porosity": 0.05, "cbd_nanoporosity": 0.0}
    return recipe_from_dict(data)


def write_campaign(folder: Path, **fields) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.yaml").write_text(recipe_to_yaml(tiny_recipe()))
    (folder / "tight.yaml").write_text(recipe_to_yaml(tight_recipe()))
    spec = {"name": "tiny", "recipes": ["tiny.yaml"], "seeds": SEEDS, "c_rates": [1.0]} | fields
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_cases_are_the_product_and_keys_name_their_inputs(tmp_path):
    cases = load_campaign(write_campaign(tmp_path, c_rates=[0.5, 1.0]))
    assert [(c.recipe.seed, c.c_rate) for c in cases] == [(s, r) for s in SEEDS for r in (0.5, 1.0)]
    assert len({c.key for c in cases}) == len(cases)
    again = load_campaign(tmp_path / "campaign.yaml")
    assert [c.key for c in again] == [c.key for c in cases]
    assert Case(tiny_recipe(2), 1.0, cutoff_v=2.9).key != Case(tiny_recipe(2), 1.0).key
    # n_seeds follows the design studies' rule: the same seeds for the same base seed
    assert (
        CampaignSpec(recipes=["paper-pristine"], n_seeds=3, base_seed=5).seed_list()
        == seed_list(3, 5)
        == [5, 6, 7]
    )


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"seeds": []}, ["seeds", "at least one"]),
        ({"recipes": []}, ["recipes"]),
        ({"c_rates": [-1.0]}, ["C-rates must be positive"]),
        ({"n_seeds": 3}, ["either seeds"]),
    ],
)
def test_bad_campaign_files_are_one_line_errors(tmp_path, fields, words):
    path = write_campaign(tmp_path, **fields)
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    for word in words:
        assert word in str(info.value)
    proc = cli("campaign", str(path), "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1
    assert not (tmp_path / "out").exists()


def test_no_cases_and_unreachable_scheduler(tmp_path):
    with pytest.raises(CampaignError, match="no cases"):
        run_campaign([], tmp_path / "out")
    with pytest.raises(CampaignError, match="cannot reach the Dask scheduler"):
        run_campaign(
            [Case(tiny_recipe(2), 1.0)],
            tmp_path / "out",
            scheduler="tcp://127.0.0.1:9",
            connect_timeout_s=2.0,
        )


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """A campaign killed while its second case runs, then restarted: (folder, case files
    before the restart, the restarted CLI's JSON)."""
    root = tmp_path_factory.mktemp("campaign")
    spec = write_campaign(
        root, recipes=["tight.yaml", "tiny.yaml"]
    )  # tight 2, tight 3 (fail), tiny 2, tiny 3
    out = root / "out"
    cases = load_campaign(spec)
    first_ok = out / cases[2].key / "status.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxode.cli", "campaign", str(spec), "-o", str(out), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not first_ok.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert first_ok.is_file(), (
        proc.stderr.read().decode() if proc.poll() is not None else "timed out"
    )
    time.sleep(3.0)  # the third case is under way
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / cases[3].key / "status.json").exists(), (
        "the kill came too late to test a resume"
    )
    before = {
        p.relative_to(out): p.stat().st_mtime_ns
        for p in (out / cases[2].key).rglob("*")
        if p.is_file()
    }
    restarted = cli("campaign", str(spec), "-o", str(out), "--json")
    assert restarted.returncode == 1, restarted.stderr  # the tight cases failed
    return out, before, json.loads(restarted.stdout)


@pytest.mark.slow
def test_a_killed_campaign_resumes_without_redoing_finished_cases(resumed):
    out, before, report = resumed
    after = {
        p.relative_to(out): p.stat().st_mtime_ns
        for p in (out / next(iter(before)).parts[0]).rglob("*")
        if p.is_file()
    }
    assert after == before  # the finished case was not touched
    rows = {r["label"]: r for r in report["cases"]}
    assert rows["tiny seed 2 1C"]["skipped"] and rows["tiny seed 2 1C"]["status"] == "ok"
    assert not rows["tiny seed 3 1C"]["skipped"] and rows["tiny seed 3 1C"]["status"] == "ok"
    assert report["failed"] == 2


@pytest.mark.slow
def test_a_failed_case_is_recorded_and_the_rest_goes_on(resumed):
    out, _, report = resumed
    failed = [r for r in report["cases"] if r["status"] == "failed"]
    assert [r["label"] for r in failed] == ["tight seed 2 1C", "tight seed 3 1C"]
    assert all("PackingError" in r["error"] for r in failed)
    statuses = {(r.case.recipe.name, r.case.recipe.seed): r.status for r in campaign_results(out)}
    assert statuses == {
        ("tight", 2): "failed",
        ("tight", 3): "failed",
        ("tiny", 2): "ok",
        ("tiny", 3): "ok",
    }


@pytest.mark.slow
def test_resumed_results_equal_an_uninterrupted_run_on_a_dask_cluster(resumed, tmp_path):
    from distributed import LocalCluster

    out, _, _ = resumed
    case = Case(tiny_recipe(3), 1.0)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        [result] = run_campaign([case], tmp_path / "ref", scheduler=cluster.scheduler_address)
    assert result.ok and not result.skipped
    resumed_table = pd.read_parquet(out / case.key / "run" / "particles_sod.parquet")
    reference = pd.read_parquet(tmp_path / "ref" / case.key / "run" / "particles_sod.parquet")
    pd.testing.assert_frame_equal(resumed_table, reference, rtol=1e-9)
    summary = json.loads((out / case.key / "run" / "summary.json").read_text())
    assert summary["capacity_mah_cm2"] == pytest.approx(
        result.summary["capacity_mah_cm2"], rel=1e-9
    )


@pytest.mark.slow
def test_dataset_rows_features_and_lithium_balance(resumed, tmp_path):
    out, _, _ = resumed
    results = campaign_results(out)
    data = build_dataset(results)
    assert tuple(data.columns) == DATASET_COLUMNS
    assert set(data["dod"]) == {0.25, 0.5, 0.75, 1.0}
    assert not data["border"].any()
    assert data["case"].nunique() == 2 and data[list(COLUMNS)].notna().all().all()
    assert data.groupby(["case", "id"]).size().eq(4).all()
    assert data["sod"].between(0.0, 1.0).all()
    # SOD rises with DoD for every particle (discharge only lithiates)
    wide = data.pivot_table(index=["case", "id"], columns="dod", values="sod")
    assert (np.diff(wide.to_numpy(), axis=1) > -1e-9).all()
    full = build_dataset(results, include_border=True)
    assert len(full) > len(data) and full["border"].any()
    # Li balance: the SOD of all particles at DoD 100 % accounts for the delivered charge
    p = load_parameters()
    by_key = {r.folder.name: r for r in results}
    for case, rows in full[full["dod"] == 1.0].groupby("case"):
        electrode = by_key[case].electrode()
        assert electrode.equals(Electrode.load(out / case / "electrode.npz"))
        x0 = p.active.x_initial
        moles = (rows["sod"] * (1 - x0) * rows["volume_um3"]).sum() * 1e-18 * p.active.c_max_mol_m3
        inserted_mah_cm2 = moles * FARADAY_C_MOL / 3.6 / electrode.area_cm2
        summary = json.loads((out / case / "run" / "summary.json").read_text())
        assert inserted_mah_cm2 == pytest.approx(summary["capacity_mah_cm2"], rel=0.02)
    proc = cli("dataset", str(out), "-o", str(tmp_path / "d.parquet"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == len(data)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "d.parquet"), data)
    # --campaign keeps only the cases of that campaign file (here the seed-3 case)
    one = write_campaign(tmp_path / "one", seeds=[3])
    proc = cli(
        "dataset", str(out), "--campaign", str(one), "-o", str(tmp_path / "one.parquet"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one.parquet"), data[data["seed"] == 3].reset_index(drop=True)
    )


def test_dataset_of_a_folder_without_finished_cases_is_an_error(tmp_path):
    proc = cli("dataset", str(tmp_path), "-o", str(tmp_path / "d.parquet"))
    assert (
        proc.returncode == 2
        and "no finished case" in proc.stderr
        and "Traceback" not in proc.stderr
    )
