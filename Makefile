# Two entry points for a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in emails point at the address the platform is served on.
export ACADEMY_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: setup demo serve test test-unit test-pg e2e browser lint fmt bench bench-learning bench-trading bench-coach bench-curator clean

setup: $(VENV)/.installed academy/web/static/vendor/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

academy/web/static/vendor/.installed: package.json package-lock.json scripts/copy-assets.mjs
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/academy migrate
	$(BIN)/academy demo
	$(BIN)/academy serve --host $(HOST) --port $(PORT)

serve: setup
	$(BIN)/academy migrate
	$(BIN)/academy serve --host $(HOST) --port $(PORT)

# The whole suite: unit, integration and API tests, then the browser journeys.
test: setup browser
	$(BIN)/pytest -q
	$(BIN)/pytest -q -m e2e -p no:cacheprovider

test-unit: setup
	$(BIN)/pytest -q

# Same suite against PostgreSQL + Redis; .ci/run starts them and sets the URLs.
test-pg: setup
	ACADEMY_TEST_DATABASE_URL=$${ACADEMY_TEST_DATABASE_URL:?set by .ci/run} \
	ACADEMY_TEST_REDIS_URL=$${ACADEMY_TEST_REDIS_URL:?set by .ci/run} $(BIN)/pytest -q

e2e: setup browser
	$(BIN)/pytest -q -m e2e -p no:cacheprovider

# Browser tests drive Debian's chromium (never `playwright install`).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

lint: setup
	$(BIN)/ruff check academy tests bench migrations
	$(BIN)/ruff format --check academy tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	ACADEMY_DATA_DIR=$$(mktemp -d) bash -c '$(BIN)/alembic upgrade head && $(BIN)/alembic check'

fmt: setup
	$(BIN)/ruff check --fix academy tests bench
	$(BIN)/ruff format academy tests bench

bench: setup
	$(BIN)/python bench/http_bench.py

# Course page, lesson page and search on 5,000 students, 200 lessons and 20,000 search chunks.
bench-learning: setup
	$(BIN)/python bench/learning_bench.py

# Backtest on 1,000,000 bars, a 10x10 grid on GOOG (both next to the `backtesting` package) and a
# signal scan of 500 instruments x 5,000 bars x 10 indicators; in-process, no server.
bench-trading: setup
	$(BIN)/python bench/trading_bench.py

# Coach retrieval at 10k and 100k chunks (full-text, hybrid), the embedded answerer, and the
# OpenAI-compatible adapter's first-token overhead against a local server that waits 1 s.
bench-coach: setup
	$(BIN)/python bench/coach_bench.py

# Dropout-risk rescoring (cold and warm, time and peak RSS), the curator dashboard and the metrics
# endpoints on 10,000 students with a year of activity (~2 M activity events).
bench-curator: setup
	$(BIN)/python bench/curator_bench.py

clean:
	rm -rf $(VENV) node_modules academy/web/static/vendor var
