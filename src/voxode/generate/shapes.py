"""Irregular 'potato' particle shapes: star-shaped radial functions r(u) around a centre.

A particle of volume-equivalent diameter d is

    r(u) = r0 * rho(u . a; k) * max(1 + sum_i c_i Y_i(u), MIN_RELATIVE_RADIUS),

with rho the radial function of a prolate spheroid of aspect ratio k and axis a (random
orientation), Y_i the 12 orthonormal real spherical harmonics of degree 2 and 3, and c_i
isotropic Gaussian coefficients whose RMS perturbation is the recipe's ``roughness``. r0 is
chosen so that the particle's volume is exactly pi d^3 / 6 (quadrature on the sphere).
"""

from __future__ import annotations

import math

import numpy as np

N_HARMONICS = 12
MIN_RELATIVE_RADIUS = 0.5
_QUADRATURE_POINTS = 2000


def real_harmonics(u: np.ndarray) -> np.ndarray:
    """Orthonormal real spherical harmonics of degree 2 and
    3 at unit vectors ``u`` (n, 3) -> (n, 12)."""
    x, y, z = u[..., 0], u[..., 1], u[..., 2]
    c2a = 0.5 * math.sqrt(15.0 / math.pi)
    c2b = 0.25 * math.sqrt(5.0 / math.pi)
    c2c = 0.25 * math.sqrt(15.0 / math.pi)
    c3a = 0.25 * math.sqrt(35.0 / (2.0 * math.pi))
    c3b = 0.5 * math.sqrt(105.0 / math.pi)
    c3c = 0.25 * math.sqrt(21.0 / (2.0 * math.pi))
    c3d = 0.25 * math.sqrt(7.0 / math.pi)
    c3e = 0.25 * math.sqrt(105.0 / math.pi)
    zz = z * z
    return np.stack(
        [
            c2a * x * y,
            c2a * y * z,
            c2b * (3.0 * zz - 1.0),
            c2a * x * z,
            c2c * (x * x - y * y),
            c3a * y * (3.0 * x * x - y * y),
            c3b * x * y * z,
            c3c * y * (5.0 * zz - 1.0),
            c3d * z * (5.0 * zz - 3.0),
            c3c * x * (5.0 * zz - 1.0),
            c3e * z * (x * x - y * y),
            c3a * x * (x * x - 3.0 * y * y),
        ],
        axis=-1,
    )


def fibonacci_sphere(n: int) -> np.ndarray:
    """n nearly uniform unit vectors (equal-area quadrature points on the sphere)."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n)
    azimuth = math.pi * (1.0 + math.sqrt(5.0)) * i
    return np.stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1
    )


_SPHERE = fibonacci_sphere(_QUADRATURE_POINTS)
_SPHERE_Y = real_harmonics(_SPHERE)


def relative_radius(
    u: np.ndarray,
    axis: np.ndarray,
    aspect: float,
    coeffs: np.ndarray,
    harmonics: np.ndarray | None = None,
) -> np.ndarray:
    """Radial function r(u) / r0 at unit vectors ``u`` (n, 3) for one particle: a spheroid of
    ``aspect`` along ``axis`` times the harmonic perturbation ``1 + Y(u) @ coeffs`` (floored).
    ``harmonics``: ``real_harmonics(u)`` when already known."""
    t2 = np.clip(u @ axis, -1.0, 1.0) ** 2
    spheroid = 1.0 / np.sqrt((1.0 - t2) + t2 / (aspect * aspect))
    y = real_harmonics(u) if harmonics is None else harmonics
    return spheroid * np.maximum(1.0 + y @ coeffs, MIN_RELATIVE_RADIUS)


def shape_scale(axis: np.ndarray, aspect: float, coeffs: np.ndarray) -> tuple[float, float]:
    """(r0 per unit equivalent radius, bounding radius per unit equivalent radius).

    Volume of a star-shaped body: V = (1/3) * integral of r(u)^3 over the unit sphere.
    """
    g = relative_radius(_SPHERE, axis, aspect, coeffs, _SPHERE_Y)
    r0 = (1.0 / np.mean(g**3)) ** (1.0 / 3.0)  # (4 pi / 3) r_eq^3 = (4 pi / 3) r0^3 mean(g^3)
    bounding = 1.03 * r0 * float(g.max())  # margin for directions between quadrature points
    return float(r0), bounding


def random_shapes(
    n: int, roughness: float, aspect_ratio_max: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw n random shapes: axis (n, 3), aspect (n,), coeffs
    (n, 12), r0 and bounding radius per unit r_eq."""
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    aspect = rng.uniform(1.0, aspect_ratio_max, size=n)
    # Orthonormal basis: sum_i Y_i^2 = 12 / (4 pi) everywhere, so the RMS perturbation is
    # sigma_c * sqrt(12 / (4 pi)); pick sigma_c to make it the recipe's roughness.
    sigma_c = roughness * math.sqrt(4.0 * math.pi / N_HARMONICS)
    coeffs = rng.normal(scale=sigma_c, size=(n, N_HARMONICS))
    scales = np.array([shape_scale(axis[i], aspect[i], coeffs[i]) for i in range(n)]).reshape(n, 2)
    return {
        "axis": axis,
        "aspect": aspect,
        "coeffs": coeffs,
        "r0_rel": scales[:, 0],
        "bound_rel": scales[:, 1],
    }
