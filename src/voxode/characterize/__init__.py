"""Characterization: per-particle features, smooth interface areas, tortuosity and its depth profile.

Public API (units in the names; arrays indexed [x, y, z], z = 0 the current collector):

- :func:`characterize` (electrode -> particle table) and :func:`characterization` (table +
  depth profiles);
- :func:`interface_faces` / :func:`interface_area`: smooth-surface areas and per-face weights;
- :func:`tortuosity`: one steady diffusion solve (TauFactor 2 conventions);
- :func:`depth_profile`: tau from the separator plane down to every plane, exactly, in one call;
- :func:`electrode_fields`, :func:`phase_fields`, :func:`binary_fields`: transport fields.
"""

from voxode.characterize.areas import InterfaceFaces, interface_area, interface_faces
from voxode.characterize.features import COLUMNS, Characterization, characterization, characterize, region_labels
from voxode.characterize.profile import DepthProfile, depth_profile
from voxode.characterize.tortuosity import TortuosityResult, tortuosity
from voxode.characterize.transport import TransportFields, binary_fields, electrode_fields, phase_fields

__all__ = [
    "COLUMNS", "Characterization", "DepthProfile", "InterfaceFaces", "TortuosityResult", "TransportFields",
    "binary_fields", "characterization", "characterize", "depth_profile", "electrode_fields",
    "interface_area", "interface_faces", "phase_fields", "region_labels", "tortuosity",
]
