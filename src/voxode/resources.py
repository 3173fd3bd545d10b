"""The size of the work before it starts: peak-memory estimates, the memory available, a refusal.

Each stage owns its estimate (``generate.memory.estimate_memory``, ``io.importing.estimate_memory``,
``characterize.features.estimate_memory``, ``electrochem.simulate.estimate_memory``): a fixed
part (the interpreter and the libraries the stage imports) plus a cost per voxel or per
unknown, both fitted to measured peak resident set sizes of ``paper-pristine``
(``benchmarks/bench_memory.py``; estimates against measurements in ``benchmarks/README.md``).
They go through :func:`check_memory`, which refuses with one line when the estimate exceeds
the memory available, unless forced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from voxode.errors import ResourceError

MIB, GIB = 2**20, 2**30


@dataclass(frozen=True)
class MemoryEstimate:
    """Expected peak resident memory of one stage on one electrode.

    Attributes
    ----------
    stage : str
        ``generate``, ``import``, ``characterize`` or ``simulate``.
    bytes : int
        Expected peak resident set size of the process (bytes).
    voxels : int
        Voxels of the image the stage works on.
    unknowns : int
        Unknowns of the discretised model (``simulate`` only; 0 otherwise).
    """

    stage: str
    bytes: int
    voxels: int
    unknowns: int = 0

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON-ready: stage, bytes, GiB, voxels, unknowns."""
        return {
            "stage": self.stage,
            "bytes": int(self.bytes),
            "gib": round(self.bytes / GIB, 3),
            "voxels": int(self.voxels),
            "unknowns": int(self.unknowns),
        }


def available_memory_bytes() -> int:
    """Memory this process can still use (bytes): MemAvailable, capped by a cgroup limit."""
    available = _meminfo_available()
    limit = _cgroup_room()
    return min(available, limit) if limit is not None else available


def _meminfo_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _cgroup_room() -> int | None:
    """cgroup v2 memory.max less memory.current, when the process runs under a limit."""
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((root / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def check_memory(estimate: MemoryEstimate, force: bool = False, hint: str = "") -> None:
    """Refuse (:class:`ResourceError`) when ``estimate`` exceeds the memory available, unless
    ``force``.

    ``hint`` says what to change (e.g. "use a coarser --voxel-um").
    """
    available = available_memory_bytes()
    if force or estimate.bytes <= available:
        return
    size = f"{estimate.voxels:.3g} voxels" + (
        f", {estimate.unknowns:.3g} unknowns" if estimate.unknowns else ""
    )
    raise ResourceError(
        f"{estimate.stage} would need about {estimate.bytes / GIB:.1f} GiB ({size}) but "
        f"{available / GIB:.1f} GiB is available: {hint + ', or ' if hint else ''}"
        f"give --force to try anyway"
    )
