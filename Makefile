# Two entry points (see README): `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data/demo

.PHONY: run test setup setup-dev lint typecheck pytest default-model clean

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

# The bundled default model, reproducibly: data (~18 min), training (~25 min), test report,
# then a slim copy (weights + configuration) into the package. See docs/MODEL_CARD.md.
MODEL_DATA ?= data/synth4k
MODEL_RUN ?= runs/fused
default-model: setup-dev
	$(VENV)/bin/liveness synth --out $(MODEL_DATA) --clips 4000 --seed 2024 --workers 2
	$(VENV)/bin/liveness train --data $(MODEL_DATA) --out $(MODEL_RUN) --epochs 12 --frames 12 --image-size 96 --threads 2
	$(VENV)/bin/liveness evaluate --checkpoint $(MODEL_RUN)/best.pt --data $(MODEL_DATA) --out $(MODEL_RUN)/report
	$(PY) -c "from liveness.checkpoint import slim_checkpoint as s; s('$(MODEL_RUN)/best.pt', 'src/liveness/models/default.pt')"

clean:
	rm -rf $(VENV) data runs .pytest_cache .mypy_cache .ruff_cache
