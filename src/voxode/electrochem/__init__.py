"""The electrochemical stage: galvanostatic discharge of an electrode image in a Li half cell.

Public API (SI inside, units in the names outside):

- :func:`simulate` (electrode -> :class:`Discharge`) and :func:`discharge_to_folder` (a run
  folder that resumes); :func:`estimate_memory` before starting;
- :class:`ParameterSet`, :func:`load_parameters`, :func:`available_parameter_sets`,
  :func:`with_values`, :func:`load_bpx`: parameter sets (defaults in :mod:`.defaults`);
- :class:`SolverOptions`, :class:`EndReason`: time stepping and how a discharge ended;
- :func:`calibrate`: fit parameters to measured rate-test capacities (PyBaMM DFN);
  :func:`read_rate_data`, :func:`read_rate_table`: measured rate tests (the paper's cells are
  shipped as ``chouchane2024``).

Names are imported on first use, so that ``voxode --help`` does not pay for scipy and numba.
"""

from voxode.lazy import lazy_exports

_WHERE = {
    "DEFAULT_CUTOFF_V": "defaults",
    "DEFAULT_PARAMETER_SET": "defaults",
    "Discharge": "simulate",
    "estimate_memory": "simulate",
    "simulate": "simulate",
    "discharge_to_folder": "result",
    "sod_depth_profile": "result",
    "ParameterSet": "materials",
    "available_parameter_sets": "materials",
    "load_parameters": "materials",
    "with_values": "materials",
    "load_bpx": "bpx_import",
    "EndReason": "solver",
    "SolverOptions": "solver",
    "petsc_available": "linear",
    "CalibrationResult": "calibrate",
    "FitParameter": "calibrate",
    "calibrate": "calibrate",
    "read_rate_data": "rate_data",
    "read_rate_table": "rate_data",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
