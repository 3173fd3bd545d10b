# voxode: `make demo` runs the main job, `make test` the test suite. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PETSC_STAMP := $(VENV)/.installed-petsc
OUT ?= out

.PHONY: demo test bench clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[demo]'
	touch $@

# PETSc + hypre for the simulator's fast linear solver, where the machine allows (root + apt);
# elsewhere one line says that the pyamg fallback is used. Tried once per venv.
$(PETSC_STAMP): $(RUN_STAMP)
	bash scripts/install_petsc.sh $(PY)
	touch $@

# torch is pinned and installed first: TauFactor 2 (the tortuosity reference) needs it, and an
# unpinned torch would pull a multi-GB CUDA build.
$(TEST_STAMP): $(RUN_STAMP) $(PETSC_STAMP)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[test]'
	touch $@

demo: $(RUN_STAMP) $(PETSC_STAMP)
	bash scripts/demo.sh $(OUT)

# lint and format checks first (seconds), then the suite
test: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(PY) -m pytest -q

bench: $(TEST_STAMP)
	$(PY) benchmarks/bench_generate.py
	$(PY) benchmarks/bench_characterize.py
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_refinement.py
	$(PY) benchmarks/bench_memory.py

clean:
	rm -rf $(VENV) $(OUT)
