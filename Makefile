# Self-bootstrapping entry points: each target creates and reuses .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUPABASE_CLI := node_modules/.bin/supabase
# Extra arguments for `phase3test check`, e.g. GATE_ARGS="--pytest-arg=--pg-base-ref=origin/main".
GATE_ARGS ?=

.PHONY: gate test bench tools browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SUPABASE_CLI): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(SUPABASE_CLI)

tools: $(STAMP) $(SUPABASE_CLI)

## A headless browser for the HTML report's test: Debian's chromium, installed as root when missing.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "chromium not found and not root: the HTML report's browser test will be skipped"; fi

## The gate: start the database, migrate, seed, run every suite in parallel, write reports/.
gate: tools
	$(VENV)/bin/phase3test check $(GATE_ARGS) tests/gate tests/phase3

## Everything, including the framework's own tests (and lint, type checks).
test: tools browser
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m mypy src
	$(PY) -m pytest -n auto -p no:cacheprovider -rs --pyargs phase3test.suites tests

## Figures, not assertions: medians and ratios against baselines measured in the same run.
bench: tools
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) node_modules
