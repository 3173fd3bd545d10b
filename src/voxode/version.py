"""voxode's version: the installed distribution's, or ``0.0.0+source`` in a source tree.

A module of its own, read on first use of ``voxode.__version__``: importlib.metadata takes
longer to import than the rest of ``import voxode``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voxode")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
