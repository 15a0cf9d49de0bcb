# The two commands of the README: `make serve` and `make test`.
.PHONY: install web serve test compose-test lint bench chart

VENV ?= .venv
PY := $(VENV)/bin/python

install:
	bash scripts/install.sh

web: install
	cd web && npm ci --no-audit --no-fund && npm run build

serve: web
	HF_HUB_OFFLINE=1 $(VENV)/bin/enclave serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: web
	$(VENV)/bin/ruff check .
	cd web && npm test
	HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 $(PY) -m pytest -q -ra

# Renders the Helm chart with the real Helm engine (helm-python-sdk) for its three value sets into
# build/chart/{default,production,cpu}.yaml; tests/deploy/test_chart.py renders and validates them in `make test`.
chart: install
	$(PY) deploy/helm/render.py build/chart

# Builds the images and runs the real compose.yaml (cpu profile) on a private Docker engine, end to end.
compose-test: web
	bash scripts/compose_test.sh

bench: install
	HF_HUB_OFFLINE=1 $(PY) bench/ingest.py && $(PY) bench/search.py && $(PY) bench/beir.py
