"""Characterization: per-particle features, smooth interface areas, tortuosity and its depth
profile.

Public API (units in the names; arrays indexed [x, y, z], z = 0 the current collector):

- :func:`characterize` (electrode -> particle table) and :func:`characterization` (table +
  depth profiles);
- :func:`interface_faces` / :func:`interface_area`: smooth-surface areas and per-face weights;
- :func:`tortuosity`: one steady diffusion solve (TauFactor 2 conventions);
- :func:`depth_profile`: tau from the separator plane down to every plane, exactly, in one call;
- :func:`electrode_fields`, :func:`phase_fields`, :func:`binary_fields`: transport fields.

Names are imported on first use, so that ``voxode --help`` does not pay for numba and scipy.
"""

from voxode.lazy import lazy_exports

_WHERE = {
    "InterfaceFaces": "areas",
    "interface_area": "areas",
    "interface_faces": "areas",
    "COLUMNS": "features",
    "Characterization": "features",
    "characterization": "features",
    "characterize": "features",
    "region_labels": "features",
    "DepthProfile": "profile",
    "depth_profile": "profile",
    "TortuosityResult": "tortuosity",
    "tortuosity": "tortuosity",
    "TransportFields": "transport",
    "binary_fields": "transport",
    "electrode_fields": "transport",
    "phase_fields": "transport",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
