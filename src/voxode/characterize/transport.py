"""Per-voxel transport fields for tortuosity solves: relative diffusivity and liquid fraction.

A *transport field* pair describes how a labelled image conducts along any axis:

- ``diffusivity``: D / D0 of each voxel (dimensionless, 0 = blocked). Electrolyte 1; CBD
  ``eps_n ** bruggeman`` (nanoporous carbon-binder, eps_n its nanoporosity); solids 0.
- ``liquid``: volume fraction of electrolyte inside each voxel (dimensionless): 1 in pores,
  ``eps_n`` in CBD, 0 in solids. Its mean is the porosity that enters ``tau = eps D0 / D_eff``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from voxode.electrode import CBD, PORE, Electrode
from voxode.errors import ImageError

BRUGGEMAN: float = 1.5


@dataclass(frozen=True)
class TransportFields:
    """Relative diffusivity and liquid volume fraction per voxel.

    Attributes
    ----------
    diffusivity : ndarray of float64, [x, y, z]
        D/D0 (dimensionless).
    liquid : ndarray of float64, [x, y, z]
        Liquid volume fraction (dimensionless).
    """

    diffusivity: np.ndarray
    liquid: np.ndarray

    def __post_init__(self) -> None:
        if self.diffusivity.shape != self.liquid.shape or self.diffusivity.ndim != 3:
            raise ImageError(
                f"diffusivity {self.diffusivity.shape} and liquid "
                f"{self.liquid.shape} must be equal 3D shapes"
            )
        if np.any(self.diffusivity < 0) or not np.all(np.isfinite(self.diffusivity)):
            raise ImageError("relative diffusivities must be finite and non-negative")


def binary_fields(conducting: np.ndarray) -> TransportFields:
    """Fields of a binary image: True voxels conduct with D/D0 = 1 and are fully liquid.

    Parameters
    ----------
    conducting : ndarray of bool, [x, y, z]
        True where the image conducts.

    Returns
    -------
    TransportFields
        Relative diffusivity D/D0 and liquid fraction per voxel (dimensionless).
    """
    mask = np.asarray(conducting, dtype=bool)
    if mask.ndim != 3:
        raise ImageError(f"a 3D image is needed, got shape {mask.shape}")
    values = mask.astype(np.float64)
    return TransportFields(diffusivity=values, liquid=values.copy())


def phase_fields(
    labels: np.ndarray,
    conducting: Iterable[int] = (PORE,),
    cbd_nanoporosity: float | np.ndarray = 0.5,
    bruggeman: float = BRUGGEMAN,
    cbd_label: int | None = CBD,
) -> TransportFields:
    """Fields of a labelled image in which the labels ``conducting`` carry electrolyte.

    The label ``cbd_label`` (CBD, 2, by default; ``None`` for images without CBD semantics) is
    nanoporous: liquid fraction ``eps_n`` and D/D0 ``eps_n ** bruggeman``. ``cbd_nanoporosity``
    is one value or one value per z plane (length ``labels.shape[2]``). Every other conducting
    label is plain electrolyte (1, 1); labels not listed are solid (0, 0).

    Parameters
    ----------
    labels : ndarray of int, [x, y, z]
        Labelled image (0 pore, 1 NMC, 2 CBD for electrodes).
    conducting : iterable of int
        Labels that carry electrolyte.
    cbd_nanoporosity : float or ndarray
        CBD nanoporosity eps_n (dimensionless, 0 to 1): one value, or one per z plane.
    bruggeman : float
        Exponent of D/D0 = eps_n ** bruggeman in the CBD.
    cbd_label : int or None
        The nanoporous label; None for images without CBD.

    Returns
    -------
    TransportFields
        Relative diffusivity D/D0 and liquid fraction per voxel (dimensionless).
    """
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ImageError(f"a 3D labelled image is needed, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ImageError(f"labels must be integers, got dtype {labels.dtype}")
    eps_n = np.broadcast_to(np.asarray(cbd_nanoporosity, dtype=np.float64), (labels.shape[2],))
    if np.any(eps_n < 0) or np.any(eps_n > 1):
        raise ImageError("the CBD nanoporosity must lie in [0, 1]")
    diffusivity = np.zeros(labels.shape, dtype=np.float64)
    liquid = np.zeros(labels.shape, dtype=np.float64)
    for label in sorted(set(int(v) for v in conducting)):
        where = labels == label
        if cbd_label is not None and label == cbd_label:
            diffusivity += where * (eps_n**bruggeman)[None, None, :]
            liquid += where * eps_n[None, None, :]
        else:
            diffusivity[where] = 1.0
            liquid[where] = 1.0
    return TransportFields(diffusivity=diffusivity, liquid=liquid)


def electrode_fields(
    electrode: Electrode, include_cbd: bool = False, bruggeman: float = BRUGGEMAN
) -> TransportFields:
    """Fields of an electrode: electrolyte alone, or electrolyte + CBD (nanoporosity per z plane).

    Parameters
    ----------
    electrode : Electrode
        The electrode image.
    include_cbd : bool
        Let the (nanoporous) CBD conduct too, with its layers' nanoporosity.
    bruggeman : float
        Exponent of D/D0 = eps_n ** bruggeman in the CBD.

    Returns
    -------
    TransportFields
        Relative diffusivity D/D0 and liquid fraction per voxel (dimensionless).
    """
    conducting = (PORE, CBD) if include_cbd else (PORE,)
    return phase_fields(
        electrode.phases, conducting, electrode.cbd_nanoporosity_planes(), bruggeman
    )
