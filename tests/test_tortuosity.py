"""Tortuosity engine: analytic cases, TauFactor 2 agreement, depth profile vs slab solves, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import taufactor  # a test dependency: missing, the comparison must fail, not skip
import tifffile
import typer
from scipy import ndimage
from typer.testing import CliRunner

from synthetic_images import sphere_packing
from voxode.characterize import (
    binary_fields,
    depth_profile,
    electrode_fields,
    phase_fields,
    tortuosity,
)
from voxode.characterize.transport import TransportFields
from voxode.errors import ElectrodeFileError, ImageError


def random_field_image(
    shape: tuple[int, int, int], porosity: float, seed: int, sigma: float = 1.5
) -> np.ndarray:
    """Thresholded Gaussian random field: a porous image not made by voxode."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), sigma)
    return field > np.quantile(field, 1.0 - porosity)


def three_phase_image(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Labels 0 (pore), 1 (solid), 2 (CBD) from a random field: not made by voxode."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), 1.5)
    return np.digitize(field, np.quantile(field, [0.35, 0.8])).choose([0, 1, 2]).astype(np.uint8)


# ------------------------------------------------------------------ analytic cases
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_straight_channels_tau_one(axis: int) -> None:
    img = np.zeros((20, 20, 20), dtype=bool)
    sl = [slice(2, 5), slice(6, 9), slice(None)]
    img[tuple(np.roll(sl, axis - 2))] = True
    sl2 = [slice(12, 18), slice(10, 11), slice(None)]
    img[tuple(np.roll(sl2, axis - 2))] = True
    res = tortuosity(img, axis=axis)
    assert res.tau == pytest.approx(1.0, rel=1e-9)
    assert res.percolating_fraction == 1.0
    assert res.message == ""


def test_isolated_pores_excluded_from_percolating_fraction() -> None:
    img = np.zeros((20, 20, 30), dtype=bool)
    img[2:6, 2:6, :] = True  # channel: 16 x 30 = 480 voxels
    img[10:15, 10:15, 5:13] = True  # isolated cube: 200 voxels
    img[16:18, 16:18, 0:20] = True  # dead end touching one plane only: 80 voxels
    res = tortuosity(img)
    assert res.percolating_fraction == pytest.approx(480 / 760)
    assert res.tau_percolating == pytest.approx(1.0, rel=1e-9)
    assert res.tau == pytest.approx(760 / 480, rel=1e-9)  # total porosity convention
    assert "does not percolate" in res.message


def test_series_layers_exact() -> None:
    rng = np.random.default_rng(3)
    layers = rng.uniform(0.05, 1.0, 25)
    d = np.broadcast_to(layers, (6, 5, 25)).copy()
    res = tortuosity(TransportFields(d, np.ones_like(d)), axis=2)
    assert res.d_eff == pytest.approx(1.0 / np.mean(1.0 / layers), rel=1e-9)
    assert res.tau == pytest.approx(np.mean(1.0 / layers), rel=1e-9)
    # flux along the layers: parallel arrangement, arithmetic mean
    par = tortuosity(TransportFields(d, np.ones_like(d)), axis=0)
    assert par.d_eff == pytest.approx(np.mean(layers), rel=1e-9)


def test_series_layers_with_solid_and_cbd() -> None:
    """Electrolyte/CBD layers in series with a partly solid layer (straight columns in it)."""
    labels = np.zeros((10, 10, 12), dtype=np.uint8)
    labels[:, :, 4:8] = 2  # CBD layer (eps_n 0.4)
    fields = phase_fields(labels, (0, 2), cbd_nanoporosity=0.4)
    d_cbd = 0.4**1.5
    res = tortuosity(fields)
    assert res.d_eff == pytest.approx(12 / (8 + 4 / d_cbd), rel=1e-9)
    assert res.porosity == pytest.approx((8 + 4 * 0.4) / 12)


def test_non_percolating_gives_inf_not_nan() -> None:
    img = random_field_image((24, 24, 30), 0.5, seed=1)
    img[:, :, 15] = False
    for boundary in ("faces", "ghost"):
        res = tortuosity(img, boundary=boundary)
        assert math.isinf(res.tau) and res.tau > 0
        assert math.isinf(res.tau_percolating)
        assert res.percolating_fraction == 0.0 and res.d_eff == 0.0
        assert "no conducting path" in res.message
        assert res.to_dict()["tau"] is None and res.to_dict()["percolates"] is False
    empty = tortuosity(np.zeros((5, 5, 5), dtype=bool))
    assert math.isinf(empty.tau) and empty.porosity == 0.0 and "nothing conducts" in empty.message


def test_ghost_and_faces_conventions_on_uniform_block() -> None:
    img = np.ones((8, 8, 16), dtype=bool)
    assert tortuosity(img, boundary="faces").tau == pytest.approx(1.0)
    assert tortuosity(img, boundary="ghost").tau == pytest.approx(1.0)
    assert tortuosity(img, boundary="ghost").length_vox == 17


# ------------------------------------------------------------------ TauFactor 2


def taufactor_binary(img: np.ndarray, axis: int) -> tuple[float, float]:
    """(tau, D_eff/D0) from TauFactor 2's Solver, converged tightly; TF's flux axis is x."""
    tf_img = np.ascontiguousarray(np.moveaxis(img, axis, 0)).astype(np.uint8)
    solver = taufactor.Solver(tf_img, device="cpu")
    tau = solver.solve(verbose=False, conv_crit=1e-4, iter_limit=50000)
    assert solver.converged
    return float(np.asarray(tau).ravel()[0]), float(np.asarray(solver.D_eff).ravel()[0])


def taufactor_multiphase(
    labels: np.ndarray, cond: dict[int, float], axis: int
) -> tuple[float, float]:
    """(tau, D_eff) from TauFactor 2's MultiPhaseSolver (tau = sum_p VF_p D_p / D_eff)."""
    tf_img = np.ascontiguousarray(np.moveaxis(labels, axis, 0))
    solver = taufactor.MultiPhaseSolver(tf_img, cond=cond, device="cpu")
    tau = solver.solve(verbose=False, conv_crit=1e-4, iter_limit=50000)
    assert solver.converged
    return float(np.asarray(tau).ravel()[0]), float(np.asarray(solver.D_eff).ravel()[0])


@pytest.mark.slow
@pytest.mark.parametrize("porosity,seed,axis", [(0.3, 11, 2), (0.45, 12, 0), (0.6, 13, 1)])
def test_binary_matches_taufactor(porosity: float, seed: int, axis: int) -> None:
    img = random_field_image((44, 40, 48), porosity, seed)
    tau_tf, d_tf = taufactor_binary(img, axis)
    res = tortuosity(img, axis=axis)
    assert abs(res.tau - tau_tf) / tau_tf < 1e-4
    assert abs(res.d_eff - d_tf) / d_tf < 1e-4


def test_random_voxels_match_taufactor() -> None:
    """Uncorrelated random voxels (TauFactor's own test style), many isolated pores."""
    img = np.random.default_rng(5).random((40, 40, 40)) < 0.55
    tau_tf, _ = taufactor_binary(img, 2)
    res = tortuosity(img, axis=2)
    assert res.percolating_fraction < 1.0
    assert abs(res.tau - tau_tf) / tau_tf < 1e-4


def test_multiphase_matches_taufactor() -> None:
    labels = three_phase_image((40, 40, 48), seed=21)
    eps_n = 0.5
    fields = phase_fields(labels, (0, 2), cbd_nanoporosity=eps_n)
    res = tortuosity(fields, axis=2, boundary="ghost")
    tf_labels = np.select([labels == 0, labels == 2], [1, 2], 0).astype(np.uint8)
    tau_tf, d_tf = taufactor_multiphase(tf_labels, {1: 1.0, 2: eps_n**1.5}, axis=2)
    tau_tf_convention = float(fields.diffusivity.mean()) / res.d_eff
    assert abs(res.d_eff - d_tf) / d_tf < 1e-4
    assert abs(tau_tf_convention - tau_tf) / tau_tf < 1e-4


def test_sphere_packing_electrode_matches_taufactor() -> None:
    electrode = sphere_packing((40, 40, 56), seed=4)
    img = electrode.phases == 0
    tau_tf, _ = taufactor_binary(img, 2)
    res = tortuosity(electrode_fields(electrode), axis=2)
    assert abs(res.tau - tau_tf) / tau_tf < 1e-4


@pytest.mark.slow
def test_generated_electrode_matches_taufactor(small) -> None:  # noqa: ANN001 (conftest fixture)
    img = small.phases == 0
    tau_tf, _ = taufactor_binary(img, 2)
    res = tortuosity(electrode_fields(small), axis=2)
    assert abs(res.tau - tau_tf) / tau_tf < 1e-4


# ------------------------------------------------------------------ depth profile
def slab_taus(fields: TransportFields, planes: list[int]) -> np.ndarray:
    return np.array(
        [
            tortuosity(TransportFields(fields.diffusivity[:, :, k:], fields.liquid[:, :, k:])).tau
            for k in planes
        ]
    )


def test_depth_profile_equals_independent_slab_solves() -> None:
    fields = binary_fields(random_field_image((24, 22, 40), 0.4, seed=8))
    prof = depth_profile(fields, voxel_um=0.5)
    planes = [0, 1, 7, 20, 33, 39]
    ref = slab_taus(fields, planes)
    assert np.max(np.abs(prof.tau[planes] / ref - 1.0)) < 1e-8
    assert prof.z_um[7] == pytest.approx(3.5)
    assert prof.tau[-1] >= 1.0


def test_depth_profile_multiphase_electrode_equals_slabs() -> None:
    electrode = sphere_packing((24, 24, 36), seed=9)
    fields = electrode_fields(electrode, include_cbd=True)
    prof = depth_profile(fields, electrode.voxel_um, method="schur")
    planes = [0, 5, 18, 30, 35]
    ref = slab_taus(fields, planes)
    assert np.max(np.abs(prof.tau[planes] / ref - 1.0)) < 1e-8
    slabs = depth_profile(fields, electrode.voxel_um, method="slabs")
    assert np.allclose(prof.percolating_fraction, slabs.percolating_fraction, rtol=1e-12)


def test_depth_profile_non_percolating_planes_are_inf() -> None:
    img = random_field_image((20, 20, 30), 0.5, seed=2)
    img[:, :, 12] = False
    img[3:7, 3:7, :] = True  # ... except one straight channel through the blocked plane
    img[:, :, 20] = False
    prof = depth_profile(img)
    assert np.all(np.isinf(prof.tau[:21])) and np.all(prof.percolating_fraction[:21] == 0)
    assert np.all(np.isfinite(prof.tau[21:])) and not np.any(np.isnan(prof.tau))
    assert prof.tau_at(np.array([5.0]))[0] == np.inf


# ------------------------------------------------------------------ CLI
def test_cli_tortuosity_tiff_and_npz(cli: typer.Typer, tmp_path) -> None:  # noqa: ANN001
    labels = three_phase_image((20, 18, 24), seed=3)
    tif = tmp_path / "img.tif"
    tifffile.imwrite(
        tif, np.transpose(labels, (2, 1, 0)), photometric="minisblack"
    )  # pages z, (y, x)
    runner = CliRunner()
    out = runner.invoke(cli, ["tortuosity", str(tif), "--phases", "0,2", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    ref = tortuosity(phase_fields(labels, (0, 2), 0.5))
    assert data["tau"] == pytest.approx(ref.tau)
    for key in ("tau", "porosity", "percolating_fraction", "D_eff", "tau_percolating"):
        assert key in data
    electrode = sphere_packing((16, 16, 20), seed=2)
    npz = tmp_path / "e.npz"
    electrode.save(npz)
    out = runner.invoke(
        cli, ["tortuosity", str(npz), "--axis", "x", "--profile", str(tmp_path / "p.csv")]
    )
    assert out.exit_code == 0, out.output
    assert "tau" in out.stdout
    positions = pd.read_csv(tmp_path / "p.csv")["x_um"].to_numpy()
    assert positions == pytest.approx(np.arange(16) * electrode.voxel_um)  # voxel faces, in um


def test_cli_tortuosity_errors(cli: typer.Typer, tmp_path) -> None:  # noqa: ANN001
    runner = CliRunner()
    out = runner.invoke(cli, ["tortuosity", str(tmp_path / "missing.tif")])
    assert isinstance(out.exception, ElectrodeFileError)
    bad = tmp_path / "float.tif"
    tifffile.imwrite(
        bad, np.random.default_rng(0).random((4, 5, 6)).astype(np.float32), photometric="minisblack"
    )
    assert isinstance(runner.invoke(cli, ["tortuosity", str(bad)]).exception, ImageError)
    labels = tmp_path / "labels.tif"
    tifffile.imwrite(labels, np.ones((4, 5, 6), dtype=np.uint8), photometric="minisblack")
    assert isinstance(
        runner.invoke(cli, ["tortuosity", str(labels), "--phases", "0"]).exception, ImageError
    )
    blocked = np.zeros((6, 5, 4), dtype=np.uint8)
    blocked[2] = 1
    path = tmp_path / "blocked.tif"
    tifffile.imwrite(path, blocked, photometric="minisblack")
    out = runner.invoke(cli, ["tortuosity", str(path), "--json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert data["tau"] is None and data["percolating_fraction"] == 0 and data["message"]
