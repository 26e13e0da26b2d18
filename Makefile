# Two entry points (see README): `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data/demo

.PHONY: run test setup setup-dev lint typecheck pytest synth-demo clean

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.core
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.core
setup-dev: $(VENV)/.dev

# The main job (until the web service lands): a small dataset and its contact sheets.
run: setup
	$(VENV)/bin/liveness synth --out $(DATA) --clips 60 --seed 0 --workers 2 --preview

lint: setup-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: setup-dev
	$(VENV)/bin/mypy

pytest: setup-dev
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV) data runs .pytest_cache .mypy_cache .ruff_cache
