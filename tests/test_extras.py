"""Optional dependencies: a missing extra is a one-line
error that names it, from Python and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from voxode.electrode import Electrode
from voxode.errors import VoxodeError
from voxode.extras import MissingExtraError, require


def test_require_imports_or_names_the_extra() -> None:
    assert require("json", "none", "anything").dumps([1]) == "[1]"
    with pytest.raises(
        MissingExtraError,
        match=r"3D pictures needs voxode_no_such_module: pip install 'voxode\[x\]'",
    ):
        require("voxode_no_such_module", "x", "3D pictures")
    assert issubclass(MissingExtraError, VoxodeError) and issubclass(MissingExtraError, ImportError)


def test_vtk_export_without_pyvista_is_a_one_line_error(small: Electrode, tmp_path: Path) -> None:
    small.save(tmp_path / "e.npz")
    code = (
        "import sys; sys.modules['pyvista'] = None; from voxode.cli import main; "
        f"sys.argv = ['voxode', 'export', {str(tmp_path / 'e.npz')!r}, '--vtk']; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert (
        proc.returncode == 2 and len(lines) == 1 and "pip install 'voxode[pyvista]'" in lines[0]
    ), proc.stderr
    assert not (tmp_path / "e.vti").exists()
