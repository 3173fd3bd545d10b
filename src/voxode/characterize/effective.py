"""Effective transport numbers of an electrode, the ones a 1D model or a calibration uses.

Through-plane (z) tortuosity factors of the electrolyte alone (macro-pores) and of the
electrolyte with the nanoporous CBD (D/D0 = eps_n^1.5), their percolating fractions, and the
CBD's own connectivity. One set of numbers per electrode, so that the same seed at several
voxel sizes can be compared side by side (``voxode info A.npz B.npz --compare``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from voxode.characterize.tortuosity import tortuosity
from voxode.characterize.transport import electrode_fields
from voxode.connectivity import SIX, connected_to_planes
from voxode.electrode import CBD, Electrode

__all__ = ["effective_transport"]


def effective_transport(electrode: Electrode) -> dict[str, Any]:
    """Through-plane transport numbers of ``electrode`` (all dimensionless; ``None`` for an infinite
    tau).

    Parameters
    ----------
    electrode : Electrode

    Returns
    -------
    dict
        ``tau_electrolyte`` and ``tau_electrolyte_cbd`` (TauFactor 2 convention: total porosity
        over D_eff/D0), ``tau_electrolyte_percolating`` (percolating porosity instead),
        ``percolating_fraction_electrolyte`` and ``percolating_fraction_electrolyte_cbd`` (share of
        the liquid in clusters linking separator and current collector),
        ``cbd_percolating_fraction`` (share of the CBD in 6-connected CBD clusters that link both
        planes) and ``cbd_largest_cluster_fraction`` (share of the CBD in its largest 6-connected
        cluster).

    Examples
    --------
    >>> import pandas as pd
    >>> from voxode.electrode import Layer
    >>> phases = np.ones((4, 4, 6), np.uint8); phases[1, 1, :] = 0; phases[2, 2, :] = 2
    >>> ids = np.where(phases == 1, 1, 0)
    >>> e = Electrode(phases, ids, 1.0, pd.DataFrame({"id": [1]}), [Layer("l", 0.0, 6.0)])
    >>> out = effective_transport(e)
    >>> round(out["tau_electrolyte"], 6), out["cbd_percolating_fraction"]
    (1.0, 1.0)
    """
    alone = tortuosity(electrode_fields(electrode, include_cbd=False))
    with_cbd = tortuosity(electrode_fields(electrode, include_cbd=True))
    cbd = electrode.phases == CBD
    n_cbd = int(np.count_nonzero(cbd))
    labels, n = ndimage.label(cbd, structure=SIX)
    largest = int(np.bincount(labels.ravel())[1:].max()) if n else 0
    spanning = int(np.count_nonzero(connected_to_planes(cbd)))
    return {
        "tau_electrolyte": _finite(alone.tau),
        "tau_electrolyte_percolating": _finite(alone.tau_percolating),
        "tau_electrolyte_cbd": _finite(with_cbd.tau),
        "percolating_fraction_electrolyte": alone.percolating_fraction,
        "percolating_fraction_electrolyte_cbd": with_cbd.percolating_fraction,
        "cbd_percolating_fraction": spanning / n_cbd if n_cbd else 0.0,
        "cbd_largest_cluster_fraction": largest / n_cbd if n_cbd else 0.0,
    }


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None
