# Self-bootstrapping entry points: each target creates and reuses .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUPABASE_CLI := node_modules/.bin/supabase
# Extra arguments for `phase3test check`, e.g. GATE_ARGS="--pg-base-ref=origin/main".
GATE_ARGS ?=

.PHONY: gate test bench mutate tools pgtap chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SUPABASE_CLI): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(SUPABASE_CLI)

tools: $(STAMP) $(SUPABASE_CLI)

## Debian packages some checks use, installed as root when missing; without root, what needs them
## is skipped and says why. $(call debian,<test for it>,<package>)
define debian
	@if $(1) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2); \
	else echo "$(2) is missing and this is not root: what needs it will be skipped"; fi
endef

## pgTAP for supabase/tests/; chromium to open the HTML report headless.
pgtap:
	$(call debian,test -f /usr/share/postgresql/15/extension/pgtap.control,postgresql-15-pgtap)
chromium:
	$(call debian,command -v chromium,chromium)

## The gate: start the database, migrate, seed, run every suite in parallel, write reports/.
gate: tools pgtap
	$(VENV)/bin/phase3test check $(GATE_ARGS) tests/gate tests/phase3

## Everything, including the framework's own tests (and lint, type checks). The Phase 3 lock profiles measure
## at 200,000 rows here (1,000,000 in make gate: five times the minutes); production's size is declared, so both
## judge the same figures.
test: tools pgtap chromium
	$(PY) -m ruff check src tests benchmarks fixtures .github
	$(PY) -m mypy src fixtures/phase3_seeders --exclude 'fixtures/phase3_seeders/tests/'
	$(PY) -m pytest -n auto -p no:cacheprovider -rs --pg-profile-rows=200000 \
	  --pyargs phase3test.suites tests fixtures supabase/tests

## Figures, not assertions: medians and ratios against baselines measured in the same run.
bench: tools
	$(PY) benchmarks/run.py

## Each check of docs/testing.md's ledger switched off in turn: its samples must then fail (killed / total).
mutate: tools pgtap
	$(PY) tests/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) node_modules
