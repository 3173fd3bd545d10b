"""The command line: bad input gets one line, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voxode.electrode import Electrode


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voxode.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def assert_clean_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def write_recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


BAD_RECIPES = {
    "wt% not summing to 100": (
        "layers:\n  - composition_wt: {nmc: 90, carbon: 5, binder: 2}\n",
        ["composition_wt", "100"],
    ),
    "porosity above 1": ("layers:\n  - porosity: 1.2\n", ["porosity"]),
    "porosity zero": ("layers:\n  - porosity: 0.0\n", ["porosity"]),
    "voxel too coarse": ("voxel_um: 2.5\n", ["voxel_um", "too coarse"]),
    "box smaller than the largest particle": ("box_um: [15, 15, 150]\n", ["box_um", "d_max_um"]),
    "unknown field": ("layers:\n  - porosty: 0.3\n", ["porosty"]),
    "not YAML": ("layers: [\n", ["YAML"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RECIPES))
def test_bad_recipe_is_one_line_exit_2_nothing_written(tmp_path: Path, case: str) -> None:
    text, words = BAD_RECIPES[case]
    out = tmp_path / "e.npz"
    proc = run("generate", str(write_recipe(tmp_path, text)), "-o", str(out))
    assert_clean_error(proc, *words)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "recipe.yaml"]


@pytest.mark.slow
def test_unreachable_packing_target(tmp_path: Path) -> None:
    text = (
        "box_um: [20, 20, 30]\nlayers:\n  - porosity: 0.05\n    cbd_nanoporosity: 0.0\n"
        "    psd: {d10_um: 3, d50_um: 5, d90_um: 8, d_min_um: 2, d_max_um: 10}\n"
    )
    out = tmp_path / "e.npz"
    proc = run("generate", str(write_recipe(tmp_path, text)), "-o", str(out), "--quiet")
    assert_clean_error(proc, "porosity")
    assert not out.exists()


def test_unknown_preset(tmp_path: Path) -> None:
    assert_clean_error(
        run("generate", "paper-unknown", "-o", str(tmp_path / "e.npz")), "paper-unknown"
    )
    assert_clean_error(run("recipe", "show", "paper-unknown"), "paper-unknown")


def test_missing_and_corrupt_electrode_files(tmp_path: Path) -> None:
    assert_clean_error(run("info", str(tmp_path / "missing.npz")), "not found")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    assert_clean_error(run("info", str(corrupt)), "corrupt.npz")


def test_generate_and_info_json_round_trip(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path,
        "box_um: [20, 20, 30]\nlayers:\n  - psd: {d10_um: 3, d50_um: 5, d90_um: 8, "
        "d_min_um: 2, d_max_um: 10}\n",
    )
    out = tmp_path / "e.npz"
    proc = run("generate", str(recipe), "-o", str(out), "--seed", "5", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout)
    info = json.loads(run("info", str(out), "--json").stdout)
    assert info["particles"] == made["particles"] > 10
    assert info["seed"] == 5
    assert Electrode.load(out).voxel_um == 0.5
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".")
    ] == []  # no temporary leftovers


def test_info_compares_one_seed_at_two_voxel_sizes_with_transport_numbers(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path,
        "box_um: [12, 12, 24]\nlayers:\n  - psd: {d10_um: 3, d50_um: 4, d90_um: 5, "
        "d_min_um: 2, d_max_um: 6}\n",
    )
    paths = [tmp_path / f"e{v}.npz" for v in ("0.5", "1")]
    for path, voxel in zip(paths, ("0.5", "1"), strict=True):
        proc = run("generate", str(recipe), "-o", str(path), "--voxel-um", voxel, "--quiet")
        assert proc.returncode == 0, proc.stderr
    proc = run("info", *map(str, paths), "--compare", "--json")
    assert proc.returncode == 0, proc.stderr
    both = json.loads(proc.stdout)
    assert list(both) == [str(p) for p in paths]
    for summary in both.values():
        assert summary["tau_electrolyte_cbd"] <= summary["tau_electrolyte"]
        assert 0.0 < summary["percolating_fraction_electrolyte"] <= 1.0
        assert 0.0 <= summary["cbd_largest_cluster_fraction"] <= 1.0
    table = run("info", *map(str, paths), "--compare")
    assert (
        table.returncode == 0 and "tau_electrolyte_cbd" in table.stdout and "e1.npz" in table.stdout
    )


def test_recipe_show_round_trips_through_generate_validation(tmp_path: Path) -> None:
    proc = run("recipe", "show", "paper-bilayer")
    assert proc.returncode == 0
    from voxode.recipe import load_preset, load_recipe

    assert load_recipe(write_recipe(tmp_path, proc.stdout)) == load_preset("paper-bilayer")


def test_import_rejects_unknown_labels_and_missing_stacks(tmp_path: Path) -> None:
    import numpy as np
    import tifffile

    stack = tmp_path / "scan.tif"
    labels = np.zeros((8, 16, 16), np.uint8)  # pages = z, each (y, x)
    labels[2:5, 3:9, 3:9] = 1
    labels[6, 0, 0] = 7
    tifffile.imwrite(stack, labels)
    out = tmp_path / "scan.npz"
    assert_clean_error(
        run("import", str(stack), "--voxel-um", "0.5", "-o", str(out)), "scan.tif", "7"
    )
    assert not out.exists()
    assert_clean_error(
        run("import", str(tmp_path / "none.tif"), "--voxel-um", "0.5", "-o", str(out)), "none.tif"
    )
    labels[6, 0, 0] = 2
    tifffile.imwrite(stack, labels)
    assert_clean_error(run("import", str(stack), "--voxel-um", "-1", "-o", str(out)), "voxel")
    proc = run("import", str(stack), "--voxel-um", "0.5", "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["particles"] == 1


@pytest.mark.slow
def test_characterization_commands_fail_in_one_line(tmp_path: Path) -> None:
    from helpers import small_recipe
    from voxode.generate import generate

    electrode = tmp_path / "e.npz"
    generate(small_recipe().with_overrides(voxel_um=1.0)).save(electrode)
    assert_clean_error(
        run("characterize", str(electrode), "-o", str(tmp_path / "t.xlsx")), "t.xlsx"
    )
    blocker = tmp_path / "figs"
    blocker.write_text("a file, not a folder")
    assert_clean_error(
        run(
            "characterize",
            str(electrode),
            "-o",
            str(tmp_path / "t.parquet"),
            "--figures",
            str(blocker),
        ),
        "figs",
    )
    assert not (tmp_path / "t.parquet").exists()
    assert_clean_error(run("tortuosity", str(electrode), "--axis", "w"), "--axis")
    assert_clean_error(run("tortuosity", str(electrode), "--phases", "a,b"), "--phases")


@pytest.mark.slow
def test_simulate_writes_a_run_folder_and_fails_in_one_line(tmp_path: Path) -> None:
    from synthetic_images import sphere_packing

    electrode = tmp_path / "tiny.npz"
    sphere_packing(
        (8, 8, 16), voxel_um=1.0, radius_vox=(2.0, 3.5), nmc_fraction=0.5, cbd_fraction=0.1, seed=1
    ).save(electrode)
    run_dir = tmp_path / "run"
    proc = run("simulate", str(electrode), "--c-rate", "2", "-o", str(run_dir), "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["capacity_mah_cm2"] > 0 and summary["c_rate"] == pytest.approx(2.0)
    assert max(summary["conservation_relative_errors"].values()) < 1e-6
    assert (run_dir / "particles_sod.parquet").is_file() and not (
        run_dir / "checkpoint.npz"
    ).exists()
    bad = tmp_path / "bad"
    assert_clean_error(
        run("simulate", str(electrode), "--c-rate", "1", "--cutoff-v", "4.5", "-o", str(bad)),
        "cut-off",
    )
    assert_clean_error(
        run("simulate", str(electrode), "--c-rate", "1", "--params", "nope", "-o", str(bad)), "nope"
    )
    assert_clean_error(run("simulate", str(electrode), "-o", str(bad)), "--c-rate")
    assert_clean_error(
        run("simulate", str(tmp_path / "missing.npz"), "--c-rate", "1", "-o", str(bad))
    )
    assert not bad.exists()


@pytest.mark.parametrize("module", ["voxode", "voxode.cli"])
def test_python_dash_m_runs_the_command_in_pipeline_order(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    order = [
        proc.stdout.index(f" {name} ")
        for name in ("generate", "characterize", "simulate", "campaign", "train", "reproduce")
    ]
    assert order == sorted(order), proc.stdout
