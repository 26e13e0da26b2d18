# Two entry points (see README): `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data/demo

.PHONY: run demo-data sysdeps test setup setup-dev lint typecheck pytest default-model clean

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[serve]'
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.core
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.core
setup-dev: $(VENV)/.dev

# The main job: the web service and its capture page with the bundled model, under gunicorn.
# HOST=0.0.0.0 TLS=--tls-self-signed make run  serves it to a phone on the LAN (docs/SERVICE.md).
HOST ?= 127.0.0.1
PORT ?= 8000
TLS ?=
run: setup
	$(VENV)/bin/liveness serve --host $(HOST) --port $(PORT) --workers 2 $(TLS)

# A small synthetic dataset and its contact sheets.
demo-data: setup
	$(VENV)/bin/liveness synth --out $(DATA) --clips 60 --seed 0 --workers 2 --preview

lint: setup-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: setup-dev
	$(VENV)/bin/mypy

# System packages the tests need: Chromium (browser tests, driven by Playwright; never
# `playwright install`), redis-server (Redis session store), openssl (self-signed TLS).
SYSDEPS := chromium redis-server openssl
sysdeps:
	@missing=""; for c in $(SYSDEPS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

pytest: setup-dev sysdeps
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

# The bundled default model, reproducibly: training-preset data (~26 min), training (24 epochs
# with the camera augmentation: 41 min for seeds 0 and 1 side by side on the 2-core VM; seed 0
# was shipped, seed 1 is its comparison in docs/MODEL.md), a
# slim copy (weights + configuration) into the package, the fusion and the threshold calibrated
# on another seed's 1,000 training-preset clips (~9 min; at most 10 % of genuine users refused
# there, the motion gate refusing every capture whose video does not follow the phone),
# a shifted set (settings outside the training ranges, ~20 min), the report on test and
# shifted, the exports (INT8 kept only if it agrees clip by clip with the checkpoint's decision
# on test, shifted and the calibration set). See docs/MODEL_CARD.md.
MODEL_DATA ?= data/tr3k
MODEL_RUN ?= runs/camaug24_s0
CAL_DATA ?= data/tc79
SHIFT_DATA ?= data/sh81
default-model: setup-dev
	$(VENV)/bin/liveness synth --out $(MODEL_DATA) --clips 3000 --seed 2025 --workers 2 --preset training
	$(VENV)/bin/liveness train --data $(MODEL_DATA) --out $(MODEL_RUN) --epochs 24 --frames 12 --image-size 96 --threads 1 --seed 0 --camera-aug 0.5
	$(PY) -c "from liveness.checkpoint import slim_checkpoint as s; s('$(MODEL_RUN)/best.pt', 'src/liveness/models/default.pt')"
	$(VENV)/bin/liveness synth --out $(CAL_DATA) --clips 1000 --seed 79 --workers 2 --preset training
	$(VENV)/bin/liveness calibrate --model src/liveness/models/default.pt --data $(CAL_DATA) --split all --bpcer 0.10 --near-gate 0.05 --scene-gate 0.025
	$(VENV)/bin/liveness synth --out $(SHIFT_DATA) --clips 100 --seed 81 --workers 2 --preset shifted
	$(VENV)/bin/liveness evaluate --model src/liveness/models/default.pt --data $(MODEL_DATA) --split test --shifted $(SHIFT_DATA) --out $(MODEL_RUN)/report
	$(VENV)/bin/liveness export --checkpoint src/liveness/models/default.pt --out $(MODEL_RUN)/export --data $(MODEL_DATA) --parity-data $(MODEL_DATA):test,$(SHIFT_DATA):all,$(CAL_DATA):all --clips 400 --formats tflite,int8
	cp $(MODEL_RUN)/export/model.tflite src/liveness/models/default.tflite
	cp $(MODEL_RUN)/export/model.tflite.json src/liveness/models/default.tflite.json
	cp $(MODEL_RUN)/export/model_int8.tflite src/liveness/models/default_int8.tflite
	cp $(MODEL_RUN)/export/model_int8.tflite.json src/liveness/models/default_int8.tflite.json

clean:
	rm -rf $(VENV) data runs .pytest_cache .mypy_cache .ruff_cache
