# locallearn: set-up and main jobs. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The GeNN environment (brian2genn 1.7.0 pins brian2<2.6, numpy<2, cython<3.1): Python 3.11
GENN_PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
GENN_VENV   ?= .venv-genn
GENN_STAMP  := $(GENN_VENV)/.installed
# The newest end of the dependency range: a Python >= 3.12 (python3.14/3.13/3.12 on PATH, else
# pyenv's newest) with the newest Brian2 and numpy, in its own environment. Empty where none exists.
ifndef PYTHON_NEW
PYTHON_NEW := $(shell for p in python3.14 python3.13 python3.12 \
	$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -rV); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 \
	&& { command -v "$$p" | grep -v /shims/ || "$$p" -c 'import sys; print(sys.executable)'; } && break; done)
endif
VENV_NEW   ?= .venv-new
NEW_STAMP  := $(VENV_NEW)/.installed
# The cuda device's environment (brian2cuda 1.0b1 pins brian2 2.10.1, which needs Python >= 3.12)
CUDA_PYTHON ?= $(PYTHON_NEW)
CUDA_VENV   ?= .venv-cuda
CUDA_STAMP  := $(CUDA_VENV)/.installed
GENN_CUDA13_PATCH := patches/genn-4.9.0-cuda13.patch
# make test also builds GPU code (tests/test_gpu_build.py, never run) where nvcc exists: it then
# needs the cuda environment (where a Python >= 3.12 exists) and, where GENN_PATH is set, the
# GeNN environment
HAVE_NVCC := $(shell test -x "$${CUDA_PATH:-/usr/local/cuda}/bin/nvcc" && echo yes || command -v nvcc)
GPU_BUILD_ENVS := $(if $(HAVE_NVCC),$(if $(CUDA_PYTHON),$(CUDA_STAMP)) $(if $(GENN_PATH),$(GENN_STAMP)))

.PHONY: figures figures-full test test-all test-newest test-wheel print-python-new lint test-genn bench clean-cache genn-env cuda-env genn-patch test-gpu-build gpu-check help docs

help:
	@echo "make figures       install into $(VENV) and regenerate the paper figures (quick size)"
	@echo "make figures-full  the same at full size (long)"
	@echo "make test          install into $(VENV) and run the test suite (no long simulations)"
	@echo "make test-all      the test suite including the long simulations (-m slow)"
	@echo "make test-newest   the suite on a Python >= 3.12 with the newest Brian2 (in $(VENV_NEW); PYTHON_NEW=...)"
	@echo "make test-wheel    build the wheel, install it into a fresh venv, run from outside the tree"
	@echo "make lint          ruff check"
	@echo "make bench         benchmarks (ratios measured side by side)"
	@echo "make genn-env      create $(GENN_VENV) for the genn device (GeNN itself: see README)"
	@echo "make test-genn     the GeNN tests (need GENN_PATH and make genn-env; slow)"
	@echo "make genn-patch    apply $(GENN_CUDA13_PATCH) to GENN_PATH (CUDA 13; idempotent)"
	@echo "make cuda-env      create $(CUDA_VENV) for the cuda device (brian2cuda, brian2 2.10.1)"
	@echo "make test-gpu-build  generate and nvcc-compile GPU code, no run (needs nvcc)"
	@echo "make gpu-check     bench/gpu_check.sh (every GPU check; DRY_RUN=1 on a CPU machine)"
	@echo "make docs          install the docs extra into $(VENV), build the site into docs/_build/html"

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test,dask]"
	touch $(STAMP)

$(GENN_STAMP): setup.cfg pyproject.toml requirements-genn.txt
	$(GENN_PYTHON) -m venv $(GENN_VENV)
	$(GENN_VENV)/bin/python -m pip install --upgrade pip
	$(GENN_VENV)/bin/python -m pip install -r requirements-genn.txt
	# the package itself without its main-environment pins (brian2>=2.5.4 is met by 2.5.4)
	$(GENN_VENV)/bin/python -m pip install --no-deps -e .
	$(GENN_VENV)/bin/python -c "import brian2, brian2genn, locallearn.models.spiking, locallearn.protocols; print('GeNN environment: brian2', brian2.__version__, 'brian2genn', brian2genn.__version__)"
	touch $(GENN_STAMP)

$(NEW_STAMP): setup.cfg pyproject.toml
	@test -n "$(PYTHON_NEW)" || { echo "no Python >= 3.12 found (set PYTHON_NEW=...)"; exit 1; }
	$(PYTHON_NEW) -m venv $(VENV_NEW)
	$(VENV_NEW)/bin/python -m pip install --upgrade pip
	$(VENV_NEW)/bin/python -m pip install --upgrade --upgrade-strategy eager -e ".[test,dask]"
	touch $(NEW_STAMP)

genn-env: $(GENN_STAMP)

# GeNN 4.9.0 calls cuCtxCreate with three arguments; CUDA 13 maps it to the four-argument
# cuCtxCreate_v4 (fixed upstream in GeNN 5 only). Applied to the GeNN tree, never committed.
genn-patch:
	@test -n "$(GENN_PATH)" || { echo "set GENN_PATH to the GeNN 4.9.0 source tree"; exit 1; }
	@if patch -p1 -R --dry-run -s -f -d "$(GENN_PATH)" < $(GENN_CUDA13_PATCH) >/dev/null 2>&1; \
	then echo "$(GENN_CUDA13_PATCH): already applied in $(GENN_PATH)"; \
	else patch -p1 -N -d "$(GENN_PATH)" < $(GENN_CUDA13_PATCH); fi

$(CUDA_STAMP): setup.cfg pyproject.toml requirements-cuda.txt
	@test -n "$(CUDA_PYTHON)" || { echo "no Python >= 3.12 found (set CUDA_PYTHON=...)"; exit 1; }
	$(CUDA_PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/python -m pip install --upgrade pip
	$(CUDA_VENV)/bin/python -m pip install -r requirements-cuda.txt
	$(CUDA_VENV)/bin/python -m pip install -c requirements-cuda.txt -e ".[test]"
	$(CUDA_VENV)/bin/python -c "import brian2, brian2cuda; print('cuda environment: brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__)"
	touch $(CUDA_STAMP)

cuda-env: $(CUDA_STAMP)

# GPU code generated and compiled with nvcc (sm_90), never run: skipped without nvcc
test-gpu-build: $(STAMP) $(GPU_BUILD_ENVS)
	$(PY) -m pytest -m gpu_build tests/test_gpu_build.py

gpu-check:
	bash bench/gpu_check.sh

test-genn: $(STAMP) $(GENN_STAMP)
	$(PY) -m pytest -m "genn" tests/test_genn.py

figures: $(STAMP)
	$(PY) -m locallearn figures --quick --out results/figures

figures-full: $(STAMP)
	$(PY) -m locallearn figures --out results/figures-full

test: $(STAMP) $(GPU_BUILD_ENVS)
	@$(PY) -c "import sys, brian2, numpy; print('Python', sys.version.split()[0], 'brian2', brian2.__version__, 'numpy', numpy.__version__)"
	$(PY) -m pytest

test-newest: $(NEW_STAMP)
	@$(VENV_NEW)/bin/python -c "import sys, brian2, numpy; print('newest end: Python', sys.version.split()[0], 'brian2', brian2.__version__, 'numpy', numpy.__version__)"
	$(VENV_NEW)/bin/python -m pytest -m "not slow and not gpu_build" $(PYTEST_NEW_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -m "slow or not slow"

# Build sdist and wheel, install the wheel into a fresh venv, run a protocol and Fig. 1 from a
# directory outside the checkout (tests/test_packaging.py; about 3 minutes)
test-wheel: $(STAMP)
	$(PY) -m pytest -m slow tests/test_packaging.py

print-python-new:
	@echo $(PYTHON_NEW)

lint: $(STAMP)
	$(VENV)/bin/ruff check --output-format concise .

bench: $(STAMP)
	$(PY) -m locallearn bench

# The documentation site (Sphinx + myst-nb), warnings as errors
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) setup.cfg pyproject.toml
	$(PY) -m pip install -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -b html -E -W --keep-going docs docs/_build/html

clean-cache:
	rm -rf $(HOME)/.cache/locallearn results/runs
