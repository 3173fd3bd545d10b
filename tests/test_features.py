"""Per-particle features, figures and the `characterize` command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from synthetic_images import sphere_packing
from voxode.characterize import (
    COLUMNS,
    characterization,
    characterize,
    electrode_fields,
    interface_faces,
    region_labels,
    tortuosity,
)
from voxode.characterize.figures import plot_depth_profile, plot_feature_histograms
from voxode.characterize.transport import TransportFields
from voxode.electrode import Electrode, Layer
from voxode.errors import ElectrodeFileError, VoxodeError


def electrode_from(
    ids: np.ndarray, phases: np.ndarray | None = None, voxel_um: float = 0.5
) -> Electrode:
    if phases is None:
        phases = (ids > 0).astype(np.uint8)
    present = np.unique(ids[ids > 0])
    return Electrode(
        phases=phases,
        particle_ids=ids,
        voxel_um=voxel_um,
        particles=pd.DataFrame({"id": present, "layer": 0, "population": "imported"}),
        layers=[Layer("all", 0.0, ids.shape[2] * voxel_um)],
    )


def test_single_sphere_features() -> None:
    n, r, h = 26, 9.0, 0.5
    x, y, z = np.mgrid[:n, :n, :n] + 0.5
    ids = (((x - 13.3) ** 2 + (y - 12.8) ** 2 + (z - 12.0) ** 2) <= r * r).astype(np.int32)
    table = characterize(electrode_from(ids, voxel_um=h))
    assert list(table.columns) == list(COLUMNS)
    row = table.iloc[0]
    assert row["volume_um3"] == pytest.approx(np.count_nonzero(ids) * h**3)
    assert row["d_eq_um"] == pytest.approx(2 * r * h, rel=0.01)
    assert row["active_area_um2"] == pytest.approx(4 * np.pi * (r * h) ** 2, rel=0.03)
    assert row["cbd_contact_area_um2"] == 0.0 and row["nmc_contact_area_um2"] == 0.0
    assert row["sphericity"] == pytest.approx(1.0, abs=0.03)
    assert row["centroid_z_um"] == pytest.approx(12.0 * h, abs=0.01)
    assert not row["border"]
    assert np.isfinite(row["tau_electrolyte"]) and row["tau_electrolyte"] >= 1.0


@pytest.mark.slow
def test_touching_particles_symmetric_contact_and_border() -> None:
    n = 30
    x, y, z = np.mgrid[:n, :n, :n] + 0.5
    d1 = np.sqrt((x - 9.0) ** 2 + (y - 14.0) ** 2 + (z - 15.0) ** 2)
    d2 = np.sqrt((x - 20.0) ** 2 + (y - 16.0) ** 2 + (z - 16.0) ** 2)
    ids = np.zeros((n, n, n), dtype=np.int32)
    ids[(d1 <= 7) & (d1 <= d2)] = 1
    ids[(d2 <= 7) & (d2 < d1)] = 2
    ids[0:3, 0:3, 20:23] = 3  # a particle cut by the lateral faces x = 0 and y = 0
    phases = (ids > 0).astype(np.uint8)
    phases[(ids == 0) & (np.abs(z - 8.5) < 1)] = 2
    table = characterize(electrode_from(ids, phases)).set_index("id")
    assert table.loc[1, "nmc_contact_area_um2"] == pytest.approx(
        table.loc[2, "nmc_contact_area_um2"], rel=1e-12
    )
    assert table.loc[1, "nmc_contact_area_um2"] > 0
    assert bool(table.loc[3, "border"]) and not bool(table.loc[1, "border"])
    assert table.loc[3, "cbd_contact_area_um2"] == 0.0


def test_packing_features_are_consistent() -> None:
    electrode = sphere_packing((32, 32, 48), seed=3)
    result = characterization(electrode)
    table = result.particles
    ids = np.unique(electrode.particle_ids[electrode.particle_ids > 0])
    assert np.array_equal(table["id"].to_numpy(), ids)
    h = electrode.voxel_um
    assert table["volume_um3"].sum() == pytest.approx(
        np.count_nonzero(electrode.particle_ids) * h**3
    )
    regions, rank = region_labels(electrode)
    faces = interface_faces(regions, rank)
    nmc_pore = ((faces.label_lo > 0) & (faces.label_hi == -1)) | (
        (faces.label_hi > 0) & (faces.label_lo == -1)
    )
    on_separator = np.count_nonzero(
        electrode.particle_ids[:, :, -1]
    )  # NMC facing the separator, flat
    assert table["active_area_um2"].sum() == pytest.approx(
        (faces.weight[nmc_pore].sum() + on_separator) * h**2
    )
    # each NMC-NMC contact counted once per side
    nmc_nmc = (faces.label_lo > 0) & (faces.label_hi > 0)
    assert table["nmc_contact_area_um2"].sum() == pytest.approx(
        2 * faces.weight[nmc_nmc].sum() * h**2
    )
    for col in ("centroid_x_um", "centroid_y_um", "centroid_z_um"):
        assert table[col].between(0, max(electrode.size_um)).all()
    assert not table.drop(columns="border").isna().any().any()
    # tau of each particle lies between independent slab solves from the faces around its centroid
    fields = electrode_fields(electrode)
    for z in table["centroid_z_um"].to_numpy()[:6]:
        k = int(z // h)
        below, above = (
            tortuosity(TransportFields(fields.diffusivity[:, :, j:], fields.liquid[:, :, j:])).tau
            for j in (k, k + 1)
        )
        tau = table.loc[table["centroid_z_um"] == z, "tau_electrolyte"].iloc[0]
        assert min(below, above) * (1 - 1e-9) <= tau <= max(below, above) * (1 + 1e-9)
    assert (table["tau_electrolyte_cbd"] <= table["tau_electrolyte"] * 1.5).all()


@pytest.mark.slow
def test_generated_electrode(small: Electrode, tmp_path) -> None:  # noqa: ANN001
    result = characterization(small)
    table = result.particles
    assert len(table) == len(np.unique(small.particle_ids[small.particle_ids > 0]))
    assert np.all(np.isfinite(table["tau_electrolyte"])) and (table["tau_electrolyte"] >= 1.0).all()
    deep = table["centroid_z_um"] < 0.25 * small.thickness_um
    shallow = table["centroid_z_um"] > 0.75 * small.thickness_um
    assert table.loc[deep, "tau_electrolyte"].mean() > table.loc[shallow, "tau_electrolyte"].mean()
    assert table["active_area_um2"].sum() > 0 and table["cbd_contact_area_um2"].sum() > 0
    assert table["border"].any() and not table["border"].all()
    profiles = {"electrolyte": result.electrolyte, "electrolyte + CBD": result.electrolyte_cbd}
    assert plot_depth_profile(profiles, tmp_path / "p.png").stat().st_size > 1000
    assert plot_feature_histograms(table, tmp_path / "h.svg").stat().st_size > 1000


@pytest.mark.slow
def test_cli_characterize(cli: typer.Typer, tmp_path) -> None:  # noqa: ANN001
    electrode = sphere_packing((24, 24, 30), seed=5)
    path = tmp_path / "e.npz"
    electrode.save(path)
    out_path = tmp_path / "particles.parquet"
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "characterize",
            str(path),
            "-o",
            str(out_path),
            "--json",
            "--profile",
            str(tmp_path / "profile.csv"),
            "--figures",
            str(tmp_path / "fig"),
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    table = pd.read_parquet(out_path)
    assert summary["n_particles"] == len(table) and list(table.columns) == list(COLUMNS)
    assert len(pd.read_csv(tmp_path / "profile.csv")) == electrode.shape[2]
    assert (tmp_path / "fig" / "depth_profile.png").is_file()
    assert (tmp_path / "fig" / "feature_histograms.png").is_file()
    res = runner.invoke(cli, ["characterize", str(path), "-o", str(tmp_path / "q.csv"), "--quiet"])
    assert res.exit_code == 0 and res.stdout == "" and (tmp_path / "q.csv").is_file()


def test_cli_characterize_errors_write_nothing(cli: typer.Typer, tmp_path) -> None:  # noqa: ANN001
    runner = CliRunner()
    out = tmp_path / "out.parquet"
    res = runner.invoke(cli, ["characterize", str(tmp_path / "missing.npz"), "-o", str(out)])
    assert isinstance(res.exception, ElectrodeFileError)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not an npz")
    assert isinstance(
        runner.invoke(cli, ["characterize", str(corrupt), "-o", str(out)]).exception,
        ElectrodeFileError,
    )
    res = runner.invoke(cli, ["characterize", str(corrupt), "-o", str(tmp_path / "out.xlsx")])
    assert isinstance(res.exception, VoxodeError) and "out.xlsx" in str(res.exception)
    assert list(tmp_path.iterdir()) == [corrupt]


@pytest.mark.slow
def test_particle_cut_by_the_separator_plane_reacts_through_its_flat_face() -> None:
    """A half sphere on the separator plane: curved area 2 pi r^2 plus the flat disc pi r^2."""
    r, n, h = 12, 32, 0.5
    g = np.indices((n, n, n)).astype(float) + 0.5
    ball = ((g[0] - n / 2) ** 2 + (g[1] - n / 2) ** 2 + (g[2] - n) ** 2) < r * r
    electrode = Electrode(
        phases=ball.astype(np.uint8),
        particle_ids=ball.astype(np.int32),
        voxel_um=h,
        particles=pd.DataFrame({"id": [1], "layer": [0], "population": ["test"]}),
        layers=[Layer("all", 0.0, n * h)],
    )
    row = characterize(electrode).iloc[0]
    assert row["active_area_um2"] == pytest.approx(3 * np.pi * (r * h) ** 2, rel=0.03)
    assert row["parent"] == 1
