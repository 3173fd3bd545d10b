"""Smooth interface areas: spheres of known radius, planes, contacts, per-face weights."""

from __future__ import annotations

import numpy as np
import pytest

from voxode.characterize import interface_area, interface_faces


def sphere(n: int, r: float, centre: tuple[float, float, float]) -> np.ndarray:
    x, y, z = np.mgrid[:n, :n, :n] + 0.5
    return ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= r * r).astype(
        np.int64
    )


@pytest.mark.parametrize("r", [5, 6, 8, 11, 15, 20, 25, 30])
def test_sphere_area_within_3_percent(r: int) -> None:
    n = 2 * r + 8
    c = n / 2 + np.array([0.13, -0.21, 0.07])
    regions = sphere(n, r, tuple(c))
    faces = interface_faces(regions)
    exact = 4 * np.pi * r * r
    assert faces.weight.size / exact == pytest.approx(1.5, abs=0.03)  # raw face count: +50 %
    assert abs(faces.weight.sum() / exact - 1.0) < 0.03
    assert interface_area(regions, 0, 1, voxel_um=0.5) == pytest.approx(faces.weight.sum() * 0.25)


def test_flat_axis_aligned_interface_weights_are_one() -> None:
    regions = np.zeros((12, 10, 16), dtype=np.int64)
    regions[:, :, 8:] = 1
    faces = interface_faces(regions)
    assert faces.weight.size == 120
    assert np.allclose(faces.weight, 1.0)
    assert np.all(faces.axis == 2)
    assert np.all(faces.label_lo == 0) and np.all(faces.label_hi == 1)
    flat = regions.ravel()
    assert np.all(flat[faces.hi] == 1) and np.all(flat[faces.lo] == 0)


@pytest.mark.parametrize("angle_deg", [20.0, 45.0, 60.0])
def test_tilted_plane_area(angle_deg: float) -> None:
    n, lo, hi = 48, 9.0, 39.0
    a = np.deg2rad(angle_deg)
    x, y, z = np.mgrid[:n, :n, :n] + 0.5
    regions = ((x - n / 2) * np.sin(a) + (z - n / 2) * np.cos(a) > 0.3).astype(np.int64)
    faces = interface_faces(regions)
    centre = np.stack(np.unravel_index(faces.lo, regions.shape), axis=1) + 0.5
    centre[np.arange(faces.axis.size), faces.axis] += 0.5
    inside = np.all((centre > lo) & (centre < hi), axis=1)
    # exact area of the plane inside the window [lo, hi]^3, by fine sampling along x
    xs = np.linspace(lo, hi, 200001)
    zs = n / 2 + (0.3 - (xs - n / 2) * np.sin(a)) / np.cos(a)
    exact = (hi - lo) * np.mean((zs > lo) & (zs < hi)) * (hi - lo) / np.cos(a)
    assert faces.weight[inside].sum() == pytest.approx(exact, rel=0.03)


def test_touching_spheres_contact_symmetric() -> None:
    n, r = 60, 12.0
    d = 20.0  # centre distance < 2 r: a flat contact disc of radius sqrt(r^2 - d^2/4) = 6.63
    u = np.array([1.0, 0.7, 0.4]) / np.linalg.norm([1.0, 0.7, 0.4])
    c1 = np.full(3, n / 2) - u * d / 2 + 0.1
    c2 = np.full(3, n / 2) + u * d / 2 + 0.1
    x, y, z = np.mgrid[:n, :n, :n] + 0.5
    d1 = np.sqrt((x - c1[0]) ** 2 + (y - c1[1]) ** 2 + (z - c1[2]) ** 2)
    d2 = np.sqrt((x - c2[0]) ** 2 + (y - c2[1]) ** 2 + (z - c2[2]) ** 2)
    regions = np.zeros((n, n, n), dtype=np.int64)
    regions[(d1 <= r) & (d1 <= d2)] = 1
    regions[(d2 <= r) & (d2 < d1)] = 2
    faces = interface_faces(regions)
    a12 = faces.area_between(1, 2)
    assert a12 == faces.area_between(2, 1)
    assert a12 == pytest.approx(np.pi * (r * r - d * d / 4), rel=0.05)
    # mirrored image: the same contact area from the other side
    mirrored = interface_faces(regions[::-1, ::-1, ::-1])
    assert mirrored.area_between(2, 1) == pytest.approx(a12, rel=1e-12)


def test_rank_keeps_particle_surface_normals_under_cbd() -> None:
    """A CBD patch on a flat particle face must not tilt the weights of the faces beside it."""
    regions = np.full((20, 20, 20), -1, dtype=np.int64)
    regions[:, :, :10] = 5  # particle 5 below z = 10
    regions[5:9, 5:9, 10] = -2  # CBD patch on its top face
    rank = np.where(regions > 0, 2, np.where(regions == -2, 1, 0)).astype(np.int8)
    faces = interface_faces(regions, rank)
    particle = (faces.label_lo == 5) & (faces.axis == 2)
    assert np.allclose(faces.weight[particle], 1.0)
    assert faces.weight[particle].sum() == 400.0
