#!/usr/bin/env bash
# Installs PETSc (with hypre) and petsc4py into the venv whose python is $1, where the machine
# allows: as root on Debian, Debian's petsc-dev, then petsc4py built from source against it
# (Debian's python3-petsc4py is built for numpy 1.x and does not import in the venv). Anywhere
# else it prints one line and returns 0: the simulator then uses its pyamg fallback.
# Never fatal: the project runs without PETSc. petsc-dev depends on libopenmpi-dev, which
# depends on openmpi-bin, so mpiexec (`voxode simulate --ranks N`) comes with it.
set -uo pipefail
py=${1:-.venv/bin/python}
PETSC4PY_VERSION=3.18.5       # matches Debian 12's PETSc 3.18
fallback() { echo "PETSc not installed ($1): the simulator uses its pyamg fallback (README, 'PETSc')"; exit 0; }

if "$py" -c "import petsc4py" 2>/dev/null; then exit 0; fi
if ! pkg-config --exists PETSc 2>/dev/null; then
  [ "$(id -u)" = 0 ] || fallback "not root, and no system PETSc"
  command -v apt-get >/dev/null || fallback "no apt-get, and no system PETSc"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq petsc-dev; } \
    >/dev/null 2>&1 || fallback "apt-get install petsc-dev failed"
fi
petsc_dir=$(pkg-config --variable=prefix PETSc)
pip="$py -m pip --disable-pip-version-check --quiet"
# petsc4py 3.18's build breaks on setuptools >= 70 (its rpath hook); build with an older one,
# then put back the current one that the other packages want.
$pip install "cython<3.1" "setuptools<70" wheel || fallback "build tools could not be installed"
PETSC_DIR=$petsc_dir $pip install --no-build-isolation --no-binary :all: "petsc4py==$PETSC4PY_VERSION" \
  || { $pip install "setuptools>=77"; fallback "petsc4py did not build against $petsc_dir"; }
$pip install "setuptools>=77"
"$py" -c "from petsc4py import PETSc" || fallback "petsc4py does not import"
echo "PETSc $(pkg-config --modversion PETSc) with hypre and petsc4py $PETSC4PY_VERSION installed"
