# wildrydes-ml — every workflow is a target here. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON311 ?= $(shell command -v python3.11 || echo python3)
VENV      := .venv
PY        := $(VENV)/bin/python
BUILD     := build
export LOCALSTACK_PORT ?= 4566
export MOTO_PORT ?= 4567
export CHECKPOINT_DISABLE := 1

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------- project venv
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## create the project venv (.venv, Python 3.11) from exact pins

# ---------------------------------------------------------------------------- sample data (owner: weather)
# The committed sample in data/sample/: rides (2 files), GHCN-D 2017-2018 in both layouts, ground truth.
# Same seed -> byte-identical files, so re-running this leaves git clean.
SAMPLE_RIDES ?= 5000
SAMPLE_SEED ?= 20170101
.PHONY: sample-data
sample-data: venv ## regenerate the committed sample in data/sample (rides, GHCN weather, truth)
	$(PY) -m wildrydes.cli generate --rides $(SAMPLE_RIDES) --seed $(SAMPLE_SEED) --files 2 --out data/sample

# ---------------------------------------------------------------------------- tests
# `make test` is the one command CI runs (.ci/run). Integration tests start LocalStack + moto
# themselves through the session fixture in tests/conftest.py; nothing needs to be running first.
PYTEST_ARGS ?=
.PHONY: test
test: venv package ## run every test: unit, Terraform (fmt/validate/plan/checkov) and LocalStack integration
	$(PY) -m pytest tests $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## unit tests only (no emulators, no Terraform)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# ---------------------------------------------------------------------------- package (owner: etl)
# Reproducible Lambda zips (tools/build_zip.py): same sources + pins -> same sha256, so Terraform's
# source_code_hash only changes when code does. Other zips append their own line to `package`.
ETL_FUNCTIONS := ingest enrich writer
.PHONY: package
package: venv ## build the Lambda zips in build/ (reproducible; prints size and sha256 of each)
	@for fn in $(ETL_FUNCTIONS); do \
	  $(PY) tools/build_zip.py --handler-dir lambda_src/$$fn --out $(BUILD)/$$fn.zip || exit 1; \
	done
# ---------------------------------------------------------------------------- end package

# ---------------------------------------------------------------------------- demo + bench (owner: demo)
# `make demo`: the whole mission locally (tools/demo.py); its last output line is the live endpoint's
# JSON answer. DEMO_PORT picks LocalStack's port (moto: DEMO_PORT+1); state lives in build/demo/<port>/.
DEMO_PORT ?= 4566
DEMO_ARGS ?=
.PHONY: demo
demo: venv package ## run the whole pipeline locally: emulators, terraform, ETL, weather, training, live API
	$(PY) tools/demo.py --port $(DEMO_PORT) $(DEMO_ARGS)

.PHONY: demo-down
demo-down: ## stop the demo's emulators and remove its state (build/demo/<port>)
	$(PY) tools/demo.py --port $(DEMO_PORT) --down

# `make bench` is not part of `make test`: it writes build/bench/results.json and docs/benchmarks.md.
BENCH_ARGS ?=
.PHONY: bench
bench: venv package ## benchmarks vs baselines (requests/ride, throughput, RSS, inference, model, weather)
	$(PY) bench/run.py $(BENCH_ARGS)
# ---------------------------------------------------------------------------- end demo + bench
