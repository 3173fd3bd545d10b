"""`voxode train / predict / explain / figures`: the happy path in-process, bad input as one line
with exit code 2 and no traceback (real subprocesses), and the 3D rendering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from helpers import small_recipe
from surrogate_data import TINY_BOX_UM, known_dataset, tiny_tables
from test_cli import assert_clean_error, run
from voxode.cli import app
from voxode.generate import generate
from voxode.render import render_particle_values, render_side_by_side


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dataset, a model trained on it by the CLI, and a tiny electrode with its particle table."""
    root = tmp_path_factory.mktemp("surrogate-cli")
    dataset = known_dataset(tiny_tables())
    out = {
        "dataset": root / "dataset.parquet",
        "model": root / "model",
        "table": root / "particles.parquet",
        "electrode": root / "tiny.npz",
        "root": root,
    }
    dataset.to_parquet(out["dataset"], index=False)
    tables = tiny_tables()
    tables[tables["seed"] == 1].to_parquet(out["table"], index=False)
    generate(small_recipe(1, box_um=TINY_BOX_UM)).save(out["electrode"])
    result = CliRunner().invoke(
        app, ["train", str(out["dataset"]), "-o", str(out["model"]), "--json", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    out["train_summary"] = json.loads(result.stdout)
    return out


def test_train_predict_explain_figures(files: dict[str, Path]) -> None:
    summary = files["train_summary"]
    dataset = pd.read_parquet(files["dataset"])
    constant = np.abs(dataset["sod"] - dataset["sod"].mean()).mean()
    assert summary["cases"] == 4 and summary["grouped"]["mae"] < 0.5 * constant
    assert (files["model"] / "model.json").is_file()
    runner, root = CliRunner(), files["root"]
    pred = root / "pred.csv"
    result = runner.invoke(
        app,
        [
            "predict",
            str(files["model"]),
            str(files["table"]),
            "-o",
            str(pred),
            "--dods",
            "0.5,1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(pred)
    assert len(rows) == 2 * len(pd.read_parquet(files["table"])) and json.loads(result.stdout)[
        "rows"
    ] == len(rows)
    result = runner.invoke(
        app,
        [
            "explain",
            str(files["model"]),
            str(files["dataset"]),
            "-o",
            str(root / "shap"),
            "--folds",
            "2",
            "--top",
            "1",
            "--jobs",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ranking"][0] == "dod"
    assert (root / "shap" / "ranking.csv").is_file()
    result = runner.invoke(
        app, ["figures", str(files["model"]), "-o", str(root / "figures"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert (root / "figures" / "sod_vs_depth.png").stat().st_size > 0


@pytest.mark.slow
def test_bad_input_is_one_line_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    lacking = tmp_path / "lacking.parquet"
    pd.read_parquet(files["dataset"]).drop(columns="tau_electrolyte").to_parquet(lacking)
    out = tmp_path / "model"
    assert_clean_error(run("train", str(lacking), "-o", str(out)), "lacks column tau_electrolyte")
    assert not out.exists()
    table = tmp_path / "table.csv"
    pd.read_parquet(files["table"]).drop(columns="cbd_contact_area_um2").to_csv(table, index=False)
    assert_clean_error(
        run("predict", str(files["model"]), str(table), "-o", str(tmp_path / "p.parquet")),
        "lacks column cbd_contact_area_um2",
    )
    assert_clean_error(
        run(
            "predict", str(tmp_path / "nowhere"), str(files["table"]), "-o", str(tmp_path / "p.csv")
        ),
        "model.json is missing",
    )
    assert_clean_error(
        run("explain", str(files["model"]), str(tmp_path / "missing.parquet"), "-o", str(tmp_path)),
        "table not found",
    )


def test_render_writes_pngs(files: dict[str, Path], tmp_path: Path) -> None:
    from voxode.electrode import Electrode

    electrode = Electrode.load(files["electrode"])
    ids = np.unique(electrode.particle_ids[electrode.particle_ids > 0])
    values = dict(zip(ids.tolist(), np.linspace(0.0, 1.0, ids.size), strict=True))
    one = render_particle_values(electrode, values, tmp_path / "one.png", title="test")
    two = render_side_by_side(
        electrode,
        {"simulator": values, "surrogate": {i: 1.0 - v for i, v in values.items()}},
        tmp_path / "two.png",
    )
    import matplotlib.image

    for path in (one, two):
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 100 and image[..., :3].std() > 0.05  # not a blank canvas
    assert matplotlib.image.imread(two).shape[1] > matplotlib.image.imread(one).shape[1]
