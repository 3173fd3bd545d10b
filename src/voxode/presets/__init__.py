"""Preset recipes and reproduce presets (YAML data files, read by :mod:`voxode.recipe` and
:mod:`voxode.reproduce`); no public names."""

__all__: list[str] = []
