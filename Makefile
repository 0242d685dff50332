# The README's two commands: `make run` and `make test`. Also `make reset`, `make bench`, `make lint`.
# Everything installs into .venv from PyPI; nothing needs to be installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app shop
STAMP := $(VENV)/.installed
SHARED_CONTENT := ../shared/content
HOST ?= 127.0.0.1
PORT ?= 5000
EMULATOR_PORT ?= 12111

.PHONY: run reset test test-browser chromium bench lint format install db clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,redis]'
	touch $(STAMP)

install: $(STAMP)

db: $(STAMP)
	$(FLASK) db upgrade

run: db
	$(FLASK) seed-demo
	@for f in $(wildcard $(SHARED_CONTENT)/*.md); do \
	  if head -n 1 "$$f" | grep -q '^---$$'; then $(FLASK) import-article "$$f"; fi; \
	done
	$(BIN)/python -m shop.devserver --host $(HOST) --port $(PORT) --emulator-port $(EMULATOR_PORT)

# Start the demo afresh: deletes the development database, the job queue, the Stripe emulator's
# state (with its webhook secret) and the development secret key in instance/, nothing else and
# nothing outside it; refuses while `make run` runs. `make run` seeds again.
reset: $(STAMP)
	$(BIN)/python -m shop.devserver --reset

test: $(STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# Only the browser journeys (about 3 minutes): `make test-browser`; screenshots land in
# browser-artifacts/.
test-browser: $(STAMP) chromium
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

# The browser journeys drive Debian's Chromium (Playwright downloads no browser of its own):
# installed when missing and this is root on Debian; elsewhere a note, and only tests/browser fails.
chromium:
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium); \
	else echo "No Chromium: tests/browser will fail. Install it (apt-get install chromium) or set CHROMIUM=/path/to/chromium."; fi

# The production benchmark (bench/production.py): PostgreSQL on 127.0.0.1:5432 (database `bench`,
# dropped and made again), Redis on 127.0.0.1:6379 (db 12, 13 and 14, emptied), gunicorn and wrk.
# About 6 minutes; BENCH_SCALE, BENCH_SECONDS, BENCH_ROUNDS and BENCH_BUDGET_SECONDS bound it.
# `$(BIN)/python -m bench` is the older in-process one.
bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m bench.production

lint: $(STAMP)
	$(BIN)/ruff check shop tests bench
	$(BIN)/ruff format --check shop tests bench

format: $(STAMP)
	$(BIN)/ruff format shop tests bench
	$(BIN)/ruff check --fix shop tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
