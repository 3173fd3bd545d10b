"""The surrogate stage: it learns a known SOD function from real particles, validates by
electrode, saves/loads exactly, refuses mismatched inputs with one-line errors, and explains
itself with additive SHAP values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import small_recipe
from surrogate_data import known_dataset, tiny_tables
from voxode.errors import DatasetError, ModelError, VoxodeError
from voxode.generate import generate
from voxode.surrogate import (
    PAPER_FEATURES,
    default_features,
    explain,
    load,
    plot_paper_figures,
    predict,
    shap_values,
    train,
)
from voxode.surrogate import explanation as explanation_module
from voxode.surrogate.figures import size_classes
from voxode.surrogate.validation import grouped_splits, metrics

# 40 trees: the tests check behaviour, not the last digit; leaves of 3 rows: the defaults are sized
# for ~10k rows (benchmark), these tiny electrodes give ~750 training rows per fold.
FAST = {"n_estimators": 40, "min_samples_leaf": 3}


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    return known_dataset(tiny_tables())


@pytest.fixture(scope="module")
def trained(dataset: pd.DataFrame):
    return train(dataset, params=FAST)


@pytest.fixture(scope="module")
def model_dir(trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained.save(tmp_path_factory.mktemp("surrogate") / "model")


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


def test_dataset_is_realistic(dataset: pd.DataFrame) -> None:
    assert dataset["case"].nunique() == 4 and set(dataset["dod"]) == {0.25, 0.5, 0.75, 1.0}
    assert 600 < len(dataset) < 2000
    assert default_features(dataset) == (*PAPER_FEATURES, "dod")


def test_learns_the_known_function_on_held_out_electrodes(trained, dataset: pd.DataFrame) -> None:
    grouped = trained.metrics["grouped"]
    constant = np.abs(dataset["sod"] - dataset["sod"].mean()).mean()
    assert grouped["scheme"].startswith("leave-one-electrode-out")
    assert grouped["mae"] < 0.3 * constant, (grouped["mae"], constant)
    assert grouped["r2"] > 0.9
    assert grouped["mean_relative_error"] < 0.15
    assert set(grouped["mae_per_dod"]) == {"0.25", "0.5", "0.75", "1"}
    assert trained.metrics["random"]["scheme"].startswith("random KFold")
    assert trained.metrics["relative_error_floor"] == 0.05


def test_each_case_is_held_out_whole_in_one_fold(trained, dataset: pd.DataFrame) -> None:
    folds_per_case = trained.validation.groupby("case")["fold"].nunique()
    assert (folds_per_case == 1).all() and trained.validation["fold"].nunique() == 4
    assert np.isfinite(trained.validation["sod_pred"]).all()
    many = pd.Series(np.repeat([f"c{i}" for i in range(12)], 5))
    splits, scheme = grouped_splits(many, 5, seed=0)
    assert scheme.startswith("GroupKFold") and len(splits) == 5
    for train_rows, test_rows in splits:
        assert not set(many[train_rows]) & set(many[test_rows])


def test_metrics_by_hand() -> None:
    result = metrics(
        np.array([0.02, 0.5, 1.0, 0.4]),
        np.array([0.04, 0.6, 0.9, 0.4]),
        np.array([0.25, 0.5, 1, 1]),
    )
    assert result["mae"] == pytest.approx((0.02 + 0.1 + 0.1) / 4)
    assert result["mean_relative_error"] == pytest.approx(
        (0.2 + 0.1 + 0.0) / 3
    )  # 0.02 < floor 0.05: left out
    assert result["relative_error_rows"] == 3
    assert result["mae_per_dod"] == pytest.approx({"0.25": 0.02, "0.5": 0.1, "1": 0.05})


def test_save_load_round_trip(trained, model_dir: Path, dataset: pd.DataFrame) -> None:
    for name in ("model.joblib", "model.json", "metrics.json", "validation.parquet"):
        assert (model_dir / name).is_file()
    assert (model_dir / "parity.png").stat().st_size > 10_000
    meta = json.loads((model_dir / "model.json").read_text())
    assert meta["features"] == list(trained.features) and meta["target"] == "sod"
    assert (
        meta["dataset"]["cases"] == 4
        and meta["versions"]["scikit-learn"]
        and meta["versions"]["shap"]
    )
    assert (
        json.loads((model_dir / "metrics.json").read_text())["grouped"]["mae"]
        == trained.metrics["grouped"]["mae"]
    )
    loaded = load(model_dir)
    np.testing.assert_array_equal(loaded.predict(dataset), trained.predict(dataset))


def test_load_refuses_a_broken_or_foreign_model_folder(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model.json is missing"):
        load(tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in model_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    meta = json.loads((copy / "model.json").read_text())
    (copy / "model.json").write_text(json.dumps(meta | {"features": ["volume_um3", "dod"]}))
    with pytest.raises(ModelError, match="disagree on the features") as exc:
        load(copy)
    one_line(exc)
    meta["versions"]["scikit-learn"] = "0.1"
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="scikit-learn 0.1"):
        load(copy)


def test_missing_columns_are_one_line_errors(dataset: pd.DataFrame, trained) -> None:
    with pytest.raises(DatasetError, match="lacks columns tau_electrolyte, volume_um3") as exc:
        train(dataset.drop(columns=["tau_electrolyte", "volume_um3"]), params=FAST)
    one_line(exc)
    with pytest.raises(DatasetError, match="lacks column case"):
        train(dataset.drop(columns="case"))
    with pytest.raises(DatasetError, match="one case"):
        train(dataset[dataset["case"] == dataset["case"].iloc[0]])
    with pytest.raises(DatasetError, match="sod must hold finite values"):
        train(dataset.assign(sod=dataset["sod"] + 2.0))
    with pytest.raises(DatasetError, match="unknown model"):
        train(dataset, model="svm")
    table = tiny_tables().drop(columns="active_area_um2")
    with pytest.raises(DatasetError, match="lacks column active_area_um2") as exc:
        predict(trained, table)
    one_line(exc)


def test_a_model_on_another_feature_set_refuses_the_table(dataset: pd.DataFrame) -> None:
    with_rate = pd.concat(
        [dataset, dataset.assign(case=dataset["case"] + "-2C", c_rate=2.0)], ignore_index=True
    )
    rated = train(with_rate, params=FAST)
    assert rated.features[-1] == "c_rate"
    with pytest.raises(ModelError, match="give c_rate"):
        predict(rated, tiny_tables())
    with pytest.raises(DatasetError, match="lacks column c_rate") as exc:
        rated.predict(dataset.drop(columns="c_rate"))
    one_line(exc)
    assert len(predict(rated, tiny_tables(), c_rate=2.0)) == 4 * len(tiny_tables())


@pytest.mark.slow
def test_predict_a_new_electrode(model_dir: Path) -> None:
    electrode = generate(small_recipe(11, box_um=(12.0, 12.0, 20.0)))  # smaller: characterized here
    rows = predict(model_dir, electrode, dods=(0.5, 1.0))
    ids = np.unique(electrode.particle_ids[electrode.particle_ids > 0])
    assert len(rows) == 2 * ids.size and set(rows["id"]) == set(ids)
    assert rows["sod_pred"].between(0.0, 1.0).all()
    mean = rows.groupby("dod")["sod_pred"].mean()
    assert mean[1.0] > mean[0.5] + 0.2  # the known SOD grows with DoD
    with pytest.raises(DatasetError, match="DoDs must be in"):
        predict(model_dir, electrode, dods=(0.0,))


@pytest.mark.slow
def test_shap_values_add_up_to_the_prediction(trained, dataset: pd.DataFrame, monkeypatch) -> None:
    values = shap_values(trained, dataset, n_jobs=1)
    assert list(values.columns) == ["case", "id", *trained.features, "base_value"]
    total = values[list(trained.features)].sum(axis=1) + values["base_value"]
    np.testing.assert_allclose(total, trained.predict(dataset), atol=1e-6)
    monkeypatch.setattr(
        explanation_module, "PARALLEL_ROWS", 10
    )  # the split across processes gives the same
    np.testing.assert_allclose(
        shap_values(trained, dataset.head(200), n_jobs=2)[list(trained.features)],
        values.head(200)[list(trained.features)],
        atol=1e-12,
    )


def test_gradient_boosting_is_explained_additively_too(dataset: pd.DataFrame) -> None:
    boosted = train(dataset, model="gradient-boosting", params={"max_iter": 60}, n_jobs=1)
    assert boosted.metrics["grouped"]["r2"] > 0.8
    values = shap_values(boosted, dataset.head(100), n_jobs=1)
    total = values[list(boosted.features)].sum(axis=1) + values["base_value"]
    np.testing.assert_allclose(total, boosted.predict(dataset.head(100)), atol=1e-6)


def test_explain_ranks_features_across_folds(
    model_dir: Path, dataset: pd.DataFrame, tmp_path: Path
) -> None:
    folds_done = []
    result = explain(
        model_dir,
        dataset,
        tmp_path / "shap",
        n_jobs=1,
        top=2,
        on_fold=lambda done, total: folds_done.append((done, total)),
    )
    assert folds_done == [(1, 4), (2, 4), (3, 4), (4, 4)]  # the progress the CLI shows
    ranking = result.ranking
    assert set(ranking["feature"]) == set(load(model_dir).features)
    assert (ranking["min_rank"] <= ranking["mean_rank"]).all() and (
        ranking["mean_rank"] <= ranking["max_rank"]
    ).all()
    assert ranking["feature"].iloc[0] == "dod"  # the known SOD is proportional to DoD
    assert ranking["permutation_rank"].iloc[0] == 1.0
    assert (ranking["mean_abs_shap_std"] >= 0).all() and (result.per_fold["fold"].nunique() == 4)
    for name in (
        "shap_values.parquet",
        "ranking.csv",
        "beeswarm.png",
        "ranking.png",
        "summary.json",
        f"dependence_{ranking['feature'].iloc[0]}.png",
        f"dependence_{ranking['feature'].iloc[1]}.png",
    ):
        assert (tmp_path / "shap" / name).stat().st_size > 0, name
    assert len(pd.read_parquet(tmp_path / "shap" / "shap_values.parquet")) == len(dataset)


def test_paper_figures(trained, tmp_path: Path) -> None:
    classes = size_classes(trained.validation, thickness_um=30.0)
    assert (classes["dod"] == 1.0).all() and (classes["centroid_z_um"] < 15.0).all()
    counts = classes["size"].value_counts()
    assert counts.max() - counts.min() <= 1
    assert classes.groupby("size", observed=True)["volume_um3"].max().is_monotonic_increasing
    profile = pd.DataFrame(
        {"z_um": np.linspace(0, 30, 61), "tau_electrolyte": np.linspace(8, 1, 61)}
    )
    for path in plot_paper_figures(trained.validation, tmp_path, profile=profile):
        assert path.stat().st_size > 10_000
    with pytest.raises(VoxodeError, match="lacks column sod"):
        plot_paper_figures(trained.validation.drop(columns="sod"), tmp_path)
