"""voxode: digital twins of thick battery electrodes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voxode")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
