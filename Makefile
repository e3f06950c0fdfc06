# locallearn: set-up and main jobs. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: figures figures-full test test-all bench clean-cache help

help:
	@echo "make figures       install into $(VENV) and regenerate the paper figures (quick size)"
	@echo "make figures-full  the same at full size (long)"
	@echo "make test          install into $(VENV) and run the test suite (no long simulations)"
	@echo "make test-all      the test suite including the long simulations (-m slow)"
	@echo "make bench         benchmarks (ratios measured side by side)"

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test,dask]"
	touch $(STAMP)

figures: $(STAMP)
	$(PY) -m locallearn figures --quick --out results/figures

figures-full: $(STAMP)
	$(PY) -m locallearn figures --out results/figures-full

test: $(STAMP)
	$(PY) -m pytest

test-all: $(STAMP)
	$(PY) -m pytest -m "slow or not slow"

bench: $(STAMP)
	$(PY) -m locallearn bench

clean-cache:
	rm -rf $(HOME)/.cache/locallearn results/runs
