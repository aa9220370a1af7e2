# wildrydes-ml — every workflow is a target here. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# One Python for everything: the project venv, LocalStack's venv and the Lambda runtime (python3.13).
# find_python.py is stdlib-only, so any python3 (or the 3.13 itself) can run it before a venv exists.
PYTHON_BOOT := $(shell command -v python3 || command -v python3.13)
PYTHON313 ?= $(shell $(PYTHON_BOOT) src/wildrydes_dev/find_python.py 3.13 2>/dev/null)
VENV      := .venv
PY        := $(VENV)/bin/python
BUILD     := build
export LOCALSTACK_PORT ?= 4566
export MOTO_PORT ?= 4567
export CHECKPOINT_DISABLE := 1

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------- environments
# Three venvs, all Python 3.13: the project's (.venv), LocalStack's and the Lambda runtime's. uv (pinned, from
# PyPI) installs them from the exact pins, a package at a time in parallel and from its wheel cache, and
# `make setup` builds the three at once; each prints one line when it starts. Every venv keeps pip:
# build_zip/build_layer call `python -m pip` for the Lambda platform's wheels.
UV_VERSION := 0.13.10
UV_DIR     := $(BUILD)/uv-$(UV_VERSION)
UV         := $(UV_DIR)/bin/uv
UV_INSTALL  = $(UV) pip install --quiet --python

$(UV):
	@test -n "$(PYTHON313)" || { $(PYTHON_BOOT) src/wildrydes_dev/find_python.py 3.13; exit 1; }
	@echo "setup: installer uv $(UV_VERSION) -> $(UV_DIR)"
	@rm -rf $(UV_DIR) && $(PYTHON313) -m venv $(UV_DIR) && \
	  $(UV_DIR)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# A venv of another Python (e.g. the 3.11 one of older checkouts) is removed first: an interpreter cannot be
# upgraded in place. mxnet goes in with --no-deps (requirements-mxnet.txt says why), then the compatibility
# module is wired into its __init__ exactly as in the layer.
$(VENV)/.installed: requirements-dev.txt requirements-mxnet.txt pyproject.toml lambda_src/layers/mxnet/mxnet_numpy_compat.py | $(UV)
	@if [ -e $(VENV) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then \
	  echo "removing $(VENV): not a Python 3.13 venv"; rm -rf $(VENV); fi
	@echo "setup: project venv $(VENV) (requirements-dev.txt, mxnet, the project's packages)"
	@$(PYTHON313) -m venv $(VENV)
	@$(UV_INSTALL) $(PY) -r requirements-dev.txt
	@$(UV_INSTALL) $(PY) --no-deps -r requirements-mxnet.txt
	@$(UV_INSTALL) $(PY) --no-deps -e . -e localstack/executor
	@$(PY) -m wildrydes_dev.build_layer --install-shim "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
	@touch $@

.PHONY: venv setup
venv: $(VENV)/.installed ## create the project venv (.venv, Python 3.13) from exact pins

setup: ## build the project, LocalStack, Lambda runtime and tflocal venvs at once (each only when its pins changed)
	@$(MAKE) --no-print-directory -j4 venv localstack-venv lambda-runtime tflocal-venv

# ---------------------------------------------------------------------------- local AWS (owner: localstack)
# LocalStack 4.14.0 in host mode (own venv, Python 3.13) + the `process` Lambda executor (localstack/executor),
# Lambda functions on Python 3.13 (build/lambda-runtime-py313), a moto server for Athena/Glue/SageMaker.
# The venvs are keyed by a hash of their requirement files: CI can cache build/localstack-venv and
# build/lambda-runtime-py313 under `make local-cache-key` and reinstalls only when a pin changes.
# The runtime venv is keyed by the Lambda runtime it stands for (python3.13 -> lambda-runtime-py313).
LAMBDA_RUNTIME_NAME := python3.13
LS_VENV        := $(BUILD)/localstack-venv
LAMBDA_RUNTIME := $(BUILD)/lambda-runtime-py$(subst .,,$(subst python,,$(LAMBDA_RUNTIME_NAME)))
LS_VENV_KEY        = $(shell cat localstack/requirements.txt localstack/executor/pyproject.toml | sha256sum | cut -c1-16)
LAMBDA_RUNTIME_KEY = $(shell sha256sum localstack/lambda-runtime-requirements.txt | cut -c1-16)
EMULATORS = $(PY) -m wildrydes_dev.emulators
TF_LOCAL  = $(PY) -m wildrydes_dev.tf_local

.PHONY: localstack-venv
localstack-venv: | $(UV) ## LocalStack's own venv (Python 3.13) with the pinned LocalStack and the process executor
	@if [ ! -f $(LS_VENV)/.installed-$(LS_VENV_KEY) ]; then \
	  echo "setup: LocalStack venv $(LS_VENV) ($(LS_VENV_KEY))"; \
	  rm -rf $(LS_VENV) && $(PYTHON313) -m venv $(LS_VENV) && \
	  $(UV_INSTALL) $(LS_VENV)/bin/python -r localstack/requirements.txt && \
	  $(UV_INSTALL) $(LS_VENV)/bin/python --no-deps -e localstack/executor && \
	  touch $(LS_VENV)/.installed-$(LS_VENV_KEY); \
	fi

.PHONY: lambda-runtime
lambda-runtime: | $(UV) ## the Python 3.13 interpreter + runtime packages (boto3) python3.13 Lambda functions run on
	@if [ ! -f $(LAMBDA_RUNTIME)/.installed-$(LAMBDA_RUNTIME_KEY) ]; then \
	  echo "setup: Lambda runtime venv $(LAMBDA_RUNTIME) ($(LAMBDA_RUNTIME_KEY))"; \
	  rm -rf $(LAMBDA_RUNTIME) && $(PYTHON313) -m venv $(LAMBDA_RUNTIME) && \
	  $(UV_INSTALL) $(LAMBDA_RUNTIME)/bin/python -r localstack/lambda-runtime-requirements.txt && \
	  touch $(LAMBDA_RUNTIME)/.installed-$(LAMBDA_RUNTIME_KEY); \
	fi

.PHONY: local-cache-key
local-cache-key: ## print the cache key of the LocalStack + Lambda runtime venvs (for CI caches)
	@echo "ls-$(LS_VENV_KEY)-rt-$(LAMBDA_RUNTIME_KEY)"

.PHONY: localstack-up
localstack-up: setup ## start LocalStack + moto on LOCALSTACK_PORT/MOTO_PORT (default 4566/4567)
	$(EMULATORS) up

.PHONY: localstack-down
localstack-down: ## stop the LocalStack + moto started by localstack-up (by PID)
	$(EMULATORS) down

.PHONY: localstack-status
localstack-status: ## is LocalStack running on LOCALSTACK_PORT?
	$(EMULATORS) status

.PHONY: local-apply
local-apply: venv ## apply the root Terraform module to the running emulators (build/tf-local/<port>/)
	$(TF_LOCAL) apply

.PHONY: local-outputs
local-outputs: venv ## the root module's outputs on the emulators as JSON (terraform output -json)
	@$(TF_LOCAL) outputs

.PHONY: local-destroy
local-destroy: venv ## destroy what local-apply created
	$(TF_LOCAL) destroy

# The tools LocalStack users type (owner: ops). `eval "$$(make -s aws-env)"` exports the endpoints, test credentials
# and PATH entry (localstack/bin) for the emulators on LOCALSTACK_PORT/MOTO_PORT; then `aws`, `awslocal` and
# `tflocal` reach them, Athena/Glue/SageMaker on moto (docs/localstack.md, "The tools people type").
# tflocal has its own venv: its python-hcl2 8 would replace the `hcl2` package checkov uses in .venv.
TFLOCAL_VENV     := $(BUILD)/tflocal-venv
TFLOCAL_VENV_KEY  = $(shell sha256sum requirements-tflocal.txt | cut -c1-16)

.PHONY: aws-env tflocal-venv
aws-env: ## print the export lines for the emulators: eval "$$(make -s aws-env)"
	@test -x $(PY) || { echo 'error: no project venv: run `make venv` first' >&2; exit 1; }
	@$(PY) -m wildrydes_dev.localaws env

tflocal-venv: | $(UV) ## tflocal (terraform-local, pinned in requirements-tflocal.txt) in build/tflocal-venv
	@if [ ! -f $(TFLOCAL_VENV)/.installed-$(TFLOCAL_VENV_KEY) ]; then \
	  echo "setup: tflocal venv $(TFLOCAL_VENV) ($(TFLOCAL_VENV_KEY))"; \
	  rm -rf $(TFLOCAL_VENV) && $(PYTHON313) -m venv $(TFLOCAL_VENV) && \
	  $(UV_INSTALL) $(TFLOCAL_VENV)/bin/python -r requirements-tflocal.txt && \
	  touch $(TFLOCAL_VENV)/.installed-$(TFLOCAL_VENV_KEY); \
	fi
# ---------------------------------------------------------------------------- end local AWS

# ---------------------------------------------------------------------------- sample data (owner: weather)
# The committed sample in data/sample/: rides (2 files), GHCN-D 2017-2018 in both layouts, ground truth.
# Same seed -> byte-identical files, so re-running this leaves git clean.
SAMPLE_RIDES ?= 5000
SAMPLE_SEED ?= 20170101
.PHONY: sample-data
sample-data: venv ## regenerate the committed sample in data/sample (rides, GHCN weather, truth)
	$(VENV)/bin/wildrydes generate --rides $(SAMPLE_RIDES) --seed $(SAMPLE_SEED) --files 2 --out data/sample

# ---------------------------------------------------------------------------- lint and docs
# `make lint` is read-only and runs in .ci/run before `make test`; .pre-commit-config.yaml runs the same commands.
.PHONY: lint docs
lint: venv ## ruff, ruff format --check, mypy, terraform fmt -check, README tables, actionlint, openapi.yaml and its models, notebooks without outputs
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy
	terraform fmt -check -recursive
	$(VENV)/bin/actionlint -no-color
	$(PY) -m wildrydes_dev.tf_docs --check
	$(VENV)/bin/openapi-spec-validator openapi.yaml
	$(PY) -m wildrydes_dev.openapi_models --check
	$(PY) -m wildrydes_dev.notebook_check

docs: venv ## regenerate README tables (root, modules/*) and the API Gateway models generated from openapi.yaml
	$(PY) -m wildrydes_dev.tf_docs
	$(PY) -m wildrydes_dev.openapi_models

# ---------------------------------------------------------------------------- tests
# `make test` is the one command CI runs (.ci/run). Integration tests start LocalStack + moto
# themselves through the session fixture in tests/conftest.py; nothing needs to be running first.
PYTEST_ARGS ?=
.PHONY: test
test: setup package ## run every test: unit, Terraform (fmt/validate/plan/checkov) and LocalStack integration
	$(PY) -m pytest tests $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## unit tests only (no emulators, no Terraform)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-terraform checkov
test-terraform: venv ## Terraform only, offline: fmt, validate, tftest plans, native `terraform test`, checkov
	$(PY) -m pytest tests/terraform $(PYTEST_ARGS)

checkov: venv ## checkov over all Terraform (offline; zero failed checks, skips only in code with a reason)
	$(VENV)/bin/checkov --config-file .checkov.yaml

# ---------------------------------------------------------------------------- package (owner: etl)
# Reproducible Lambda zips (src/wildrydes_dev/build_zip.py): same sources + pins -> same sha256, so Terraform's
# source_code_hash only changes when code does. Other zips append their own line to `package`.
ETL_FUNCTIONS := ingest enrich writer
.PHONY: package
package: venv ## build the Lambda zips in build/ (reproducible; prints size and sha256 of each)
	@for fn in $(ETL_FUNCTIONS); do \
	  $(PY) -m wildrydes_dev.build_zip --handler-dir lambda_src/$$fn --out $(BUILD)/$$fn.zip || exit 1; \
	done
	$(PY) -m wildrydes_dev.build_zip --handler-dir lambda_src/inference --out $(BUILD)/inference.zip
	@$(MAKE) --no-print-directory layer
	@$(PY) -m wildrydes_dev.build_layer --check-only --output $(BUILD)/mxnet-layer.zip --function-zip $(BUILD)/inference.zip

# The MXNet layer (owner: inference): pinned manylinux wheels -> trimmed python/ tree -> reproducible zip.
# Rebuilt only when its builder changes (the pins live in src/wildrydes_dev/build_layer.py; wheels cached in build/cache).
.PHONY: layer
layer: $(BUILD)/mxnet-layer.zip ## build the MXNet Lambda layer (prints zipped/unzipped sizes)
$(BUILD)/mxnet-layer.zip: src/wildrydes_dev/build_layer.py src/wildrydes_dev/build_zip.py lambda_src/layers/mxnet/mxnet_numpy_compat.py | venv
	$(PY) -m wildrydes_dev.build_layer --output $@
# ---------------------------------------------------------------------------- end package

# ---------------------------------------------------------------------------- demo + bench (owner: demo)
# `make demo`: the whole mission locally (src/wildrydes_dev/demo.py); its last output line is the live endpoint's
# JSON answer. DEMO_PORT picks LocalStack's port (moto: DEMO_PORT+1); state lives in build/demo/<port>/.
DEMO_PORT ?= 4566
DEMO_ARGS ?=
# RIDES=path/to/rides.json: run it on your own ride file (weather generated for the years it spans).
RIDES ?=
.PHONY: demo
demo: setup package ## run the whole pipeline locally: emulators, terraform, ETL, weather, training, live API (RIDES=your file)
	$(PY) -m wildrydes_dev.demo --port $(DEMO_PORT) $(if $(RIDES),--rides-file '$(RIDES)') $(DEMO_ARGS)

.PHONY: demo-down
demo-down: ## stop the demo's emulators and remove its state (build/demo/<port>)
	$(PY) -m wildrydes_dev.demo --port $(DEMO_PORT) --down

# `make bench` is not part of `make test`: it writes build/bench/results.json and docs/benchmarks.md.
BENCH_ARGS ?=
.PHONY: bench
bench: setup package ## benchmarks vs baselines (requests/ride on 3 file shapes + 1M/100M/1B projection, throughput, RSS, inference, model, weather)
	$(PY) bench/run.py $(BENCH_ARGS)
# ---------------------------------------------------------------------------- end demo + bench

# ---------------------------------------------------------------------------- reliability (owner: reliability)
# `make reliability`: the bad-input + fault suite (tests/integration/test_reliability.py, test_reliability_dlq.py) on LocalStack with a
# 1,000,000-ride file, then docs/reliability.md: the table (rides in / processed / quarantined / lost) and the
# checkov summary. `make test` runs the same suite with a 20,000-ride file to stay within its time budget.
RELIABILITY_LARGE_RIDES ?= 1000000
.PHONY: reliability
reliability: setup package ## bad-input + fault suite on LocalStack (1M-ride file) -> docs/reliability.md + checkov
	@rm -f $(BUILD)/reliability/results.json
	WILDRYDES_RELIABILITY_LARGE_RIDES=$(RELIABILITY_LARGE_RIDES) $(PY) -m pytest tests/integration/test_reliability.py tests/integration/test_reliability_dlq.py $(PYTEST_ARGS); \
	  status=$$?; $(PY) -m wildrydes_dev.reliability_report || status=1; exit $$status
# ---------------------------------------------------------------------------- end reliability
