"""voxode: digital twins of thick battery electrodes.

The stages, each a module or package of its own (their order: tests/test_architecture.py):
:mod:`~voxode.recipe` -> :mod:`~voxode.generate` (or :mod:`~voxode.io` for tomography) ->
:class:`~voxode.electrode.Electrode` -> :mod:`~voxode.characterize` ->
:mod:`~voxode.electrochem` -> :mod:`~voxode.campaign` -> :mod:`~voxode.surrogate` ->
:mod:`~voxode.design` -> :mod:`~voxode.reproduce`; the command line is :mod:`voxode.cli`.

Names are imported on first use, so that ``import voxode`` stays light.
"""

from voxode.lazy import lazy_exports

_WHERE = {"__version__": "version"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
