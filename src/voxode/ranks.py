"""The MPI ranks of this run, read from the launcher's environment.

``mpiexec -n N`` (Open MPI or MPICH) starts N copies of the command and tells each its rank and
the world's size in environment variables. They are read here rather than from MPI itself so
that a serial run never starts MPI, and so that code which only needs to know whether it is
rank 0 (the one that writes and prints) does not import PETSc. The distributed solver
(:mod:`voxode.electrochem.petsc_linear`) checks that PETSc's world agrees.
"""

from __future__ import annotations

import os

# (size, rank) variables: Open MPI's mpiexec, then the PMI ones of MPICH, Intel MPI and Slurm
_LAUNCHER_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    ("PMI_SIZE", "PMI_RANK"),
)


def world_size() -> int:
    """Processes that run this discharge together (1 unless started by ``mpiexec -n N``).

    Returns
    -------
    int
        The MPI world's size.
    """
    for size, _ in _LAUNCHER_VARIABLES:
        if size in os.environ:
            return int(os.environ[size])
    return 1


def world_rank() -> int:
    """This process's rank among :func:`world_size` (0 when not started by ``mpiexec``).

    Returns
    -------
    int
        The MPI rank; rank 0 writes the outputs and prints.
    """
    for _, rank in _LAUNCHER_VARIABLES:
        if rank in os.environ:
            return int(os.environ[rank])
    return 0
