"""Defaults of a discharge, declared once for the API, the campaign files and the CLI.

A module without imports, so that the CLI can show these defaults without loading the model.
"""

DEFAULT_PARAMETER_SET: str = "chen2020-nyman2008"  # a shipped parameter set (electrochem/params/)
DEFAULT_CUTOFF_V: float = 3.0  # lower cut-off voltage vs Li/Li+ (V)
