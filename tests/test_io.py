"""File formats: npz save/load, TIFF export/import (with and without particle ids), VTK export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pyvista as pv
import tifffile
from scipy import ndimage

from voxode.electrode import NMC, Electrode, Layer
from voxode.errors import ElectrodeFileError, ImageError
from voxode.io.importing import import_tiff
from voxode.io.tiff import read_label_stack, write_tiff_stacks
from voxode.io.vtk import write_vti
from voxode.summary import electrode_summary


@pytest.fixture(scope="module")
def electrode(small: Electrode) -> Electrode:
    return small


def _write_zyx(path: Path, xyz: np.ndarray) -> Path:
    tifffile.imwrite(path, np.ascontiguousarray(xyz.transpose(2, 1, 0)), photometric="minisblack")
    return path


def _spheres(
    shape: tuple[int, int, int], centres: list[tuple[int, int, int]], radius: float
) -> np.ndarray:
    """uint8 phases: NMC (1) inside the spheres, pore elsewhere."""
    grid = np.indices(shape)
    inside = np.zeros(shape, dtype=bool)
    for c in centres:
        inside |= sum((g - ci) ** 2 for g, ci in zip(grid, c, strict=True)) <= radius**2
    return inside.astype(np.uint8)


def test_npz_save_load_is_lossless(electrode: Electrode, tmp_path: Path) -> None:
    loaded = Electrode.load(electrode.save(tmp_path / "e.npz"))
    assert loaded.equals(electrode)


def test_tiff_round_trip_is_lossless(electrode: Electrode, tmp_path: Path) -> None:
    paths = write_tiff_stacks(electrode, tmp_path / "sample")
    assert [p.name for p in paths] == ["sample_phases.tif", "sample_particles.tif"]
    with tifffile.TiffFile(paths[1]) as tif:
        assert tif.is_imagej and tif.series[0].dtype == np.uint16
        assert tif.imagej_metadata["spacing"] == electrode.voxel_um
        assert tif.series[0].shape == electrode.shape[::-1]  # pages = z, each (y, x)
    back = import_tiff(*paths, voxel_um=electrode.voxel_um)
    assert np.array_equal(back.phases, electrode.phases)
    assert np.array_equal(back.particle_ids, electrode.particle_ids)
    assert back.particles["id"].tolist() == list(range(1, electrode.n_particles + 1))
    assert set(back.particles["population"]) == {"imported"} and set(back.particles["layer"]) == {0}
    assert back.provenance["source"] == "import" and back.provenance["file"] == "sample_phases.tif"
    assert back.layers[0].z1_um == pytest.approx(electrode.thickness_um)


def test_tiff_round_trip_uint32_ids(tmp_path: Path) -> None:
    shape = (70, 40, 26)  # 72800 voxels, one particle each: ids beyond uint16
    ids = np.arange(1, np.prod(shape) + 1, dtype=np.int32).reshape(shape)
    e = Electrode(
        phases=np.ones(shape, np.uint8),
        particle_ids=ids,
        voxel_um=0.25,
        particles=pd.DataFrame({"id": ids.ravel()}),
        layers=[Layer("all", 0.0, 6.5)],
    )
    paths = write_tiff_stacks(e, tmp_path / "big")
    assert tifffile.TiffFile(paths[1]).series[0].dtype == np.uint32
    back = import_tiff(*paths, voxel_um=e.voxel_um)
    assert np.array_equal(back.particle_ids, ids)


def test_watershed_separates_spheres(tmp_path: Path) -> None:
    centres = [(10, 10, 10), (30, 10, 12), (10, 30, 28), (30, 30, 30), (20, 20, 48), (29, 20, 48)]
    phases = _spheres((40, 40, 60), centres, radius=5.0)  # the last two overlap
    phases[(phases == 0) & (np.indices(phases.shape)[2] > 55)] = 2
    e = import_tiff(_write_zyx(tmp_path / "spheres.tif", phases), voxel_um=0.5)
    assert np.array_equal(e.phases, phases)
    assert e.n_particles == len(centres)
    assert np.array_equal(e.particle_ids > 0, phases == NMC)
    assert np.array_equal(np.unique(e.particle_ids), np.arange(e.n_particles + 1))
    for i in range(1, e.n_particles + 1):
        assert ndimage.label(e.particle_ids == i)[1] == 1  # 6-connected piece


def test_bad_phase_labels(tmp_path: Path) -> None:
    phases = np.zeros((6, 5, 4), np.uint8)
    phases[1, 1, 1], phases[2, 2, 2], phases[3, 3, 3] = 1, 2, 7
    with pytest.raises(ImageError, match=r"stack\.tif holds labels 0,1,2,7: expected 0 \(pore\)"):
        import_tiff(_write_zyx(tmp_path / "stack.tif", phases), voxel_um=1.0)


def test_bad_particle_stack(electrode: Electrode, tmp_path: Path) -> None:
    phases_path, _ = write_tiff_stacks(electrode, tmp_path / "s")
    outside = electrode.particle_ids.copy()
    outside[electrode.phases != NMC] = 1
    with pytest.raises(ImageError, match="nonzero exactly on the NMC voxels"):
        import_tiff(
            phases_path, _write_zyx(tmp_path / "out.tif", outside), voxel_um=electrode.voxel_um
        )
    with pytest.raises(ImageError, match="shape"):
        import_tiff(
            phases_path,
            _write_zyx(tmp_path / "cut.tif", electrode.particle_ids[:-1]),
            voxel_um=electrode.voxel_um,
        )


def test_missing_or_corrupt_files(electrode: Electrode, tmp_path: Path) -> None:
    with pytest.raises(ElectrodeFileError, match="not found"):
        read_label_stack(tmp_path / "nope.tif")
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"this is not a TIFF file")
    with pytest.raises(ElectrodeFileError, match="garbage.tif"):
        import_tiff(garbage, voxel_um=1.0)
    phases_path, _ = write_tiff_stacks(electrode, tmp_path / "s")
    data = phases_path.read_bytes()
    for n in (100, len(data) // 2):
        truncated = tmp_path / f"truncated{n}.tif"
        truncated.write_bytes(data[:n])
        with pytest.raises(ElectrodeFileError, match=truncated.name):
            read_label_stack(truncated)
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, np.zeros((5, 6), np.uint8))
    with pytest.raises(ElectrodeFileError, match="2D"):
        read_label_stack(flat)


def test_vti_readback(electrode: Electrode, tmp_path: Path) -> None:
    extra = np.random.default_rng(0).random(electrode.shape)
    path = write_vti(electrode, tmp_path / "e.vti", {"concentration": extra})
    grid = pv.read(path)
    assert grid.dimensions == tuple(n + 1 for n in electrode.shape)
    assert grid.spacing == pytest.approx((electrode.voxel_um,) * 3)
    for name, values in (
        ("phase", electrode.phases),
        ("particle_id", electrode.particle_ids),
        ("concentration", extra),
    ):
        assert np.array_equal(
            np.asarray(grid.cell_data[name]).reshape(electrode.shape, order="F"), values
        )
    centre = grid.cell_centers().points[np.ravel_multi_index((3, 5, 7), electrode.shape, order="F")]
    assert centre == pytest.approx(np.array([3.5, 5.5, 7.5]) * electrode.voxel_um)


def test_flip_z_imports_a_stack_stored_separator_first(
    electrode: Electrode, tmp_path: Path
) -> None:
    flipped = Electrode(
        phases=electrode.phases[:, :, ::-1],
        particle_ids=electrode.particle_ids[:, :, ::-1],
        voxel_um=electrode.voxel_um,
        particles=electrode.particles,
        layers=electrode.layers,
    )
    paths = write_tiff_stacks(flipped, tmp_path / "flipped")
    back = import_tiff(*paths, voxel_um=electrode.voxel_um, flip_z=True)
    assert np.array_equal(back.phases, electrode.phases)
    assert np.array_equal(back.particle_ids > 0, electrode.particle_ids > 0)
    assert back.provenance["flip_z"] is True


def test_loading_and_capacity_count_every_layer_at_its_own_density_and_capacity() -> None:
    """Two layers of 2 planes each, 1 um voxels, 2 x 2 in-plane: bottom 3 NMC voxels per plane
    at 4 g/cm^3 and 100 mAh/g, top 1 NMC voxel per plane at 5 g/cm^3 and 250 mAh/g."""
    phases = np.zeros((2, 2, 4), dtype=np.uint8)
    phases[:, :, :2] = NMC
    phases[0, 0, :2] = 0
    phases[0, 0, 2:] = NMC
    layers = [
        Layer("bottom", 0.0, 2.0, nmc_density_g_cm3=4.0, specific_capacity_mah_g=100.0),
        Layer("top", 2.0, 4.0, nmc_density_g_cm3=5.0, specific_capacity_mah_g=250.0),
    ]
    e = Electrode(phases, np.zeros(phases.shape, np.int32), 1.0, pd.DataFrame({"id": []}), layers)
    plane_cm = 1e-4
    bottom_mg = 2 * 0.75 * plane_cm * 4.0 * 1e3
    top_mg = 2 * 0.25 * plane_cm * 5.0 * 1e3
    assert e.area_cm2 == pytest.approx(4e-8)
    assert e.nmc_loading_mg_cm2 == pytest.approx(bottom_mg + top_mg)
    assert e.nominal_capacity_mah_cm2 == pytest.approx((bottom_mg * 100.0 + top_mg * 250.0) / 1e3)
    info = electrode_summary(e)
    assert info["theoretical_capacity_mah_cm2"] == pytest.approx(e.nominal_capacity_mah_cm2)
    assert info["specific_capacity_mah_g"] == pytest.approx(
        1e3 * e.nominal_capacity_mah_cm2 / e.nmc_loading_mg_cm2
    )


@pytest.mark.parametrize(
    "output, flags, expected",
    [
        ("a.tif", ["--tiff"], ["a_phases.tif", "a_particles.tif"]),
        ("b.vti", ["--vtk"], ["b.vti"]),
        ("c.vti", ["--tiff", "--vtk"], ["c_phases.tif", "c_particles.tif", "c.vti"]),
        ("d.v1", ["--vtk"], ["d.v1.vti"]),
    ],
)
def test_export_output_names_drop_a_file_suffix(
    small: Electrode, tmp_path: Path, output: str, flags: list[str], expected: list[str]
) -> None:
    """``voxode export e.npz --tiff -o a.tif`` writes a_phases.tif, not a.tif_phases.tif."""
    small.save(tmp_path / "e.npz")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "voxode.cli",
            "export",
            str(tmp_path / "e.npz"),
            *flags,
            "-o",
            str(tmp_path / output),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(Path(p).name for p in json.loads(proc.stdout)["written"]) == sorted(expected)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "e.npz") == sorted(expected)


def test_save_figure_writes_by_suffix_reproducibly_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    from matplotlib.figure import Figure

    from voxode.io.figures import save_figure

    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    one, two = save_figure(fig, tmp_path / "a.svg"), save_figure(fig, tmp_path / "b.svg")
    assert one.read_bytes() == two.read_bytes()  # no creation date in the file
    assert save_figure(fig, tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert save_figure(fig, tmp_path / "d.pdf").read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.svg", "b.svg", "c.png", "d.pdf"]
