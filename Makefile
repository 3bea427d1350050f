# Relais: two commands on a fresh machine, `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-future lint typecheck pytest bench i18n migrate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot migrate
	$(BIN)/python -m bot

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Three workers: most tests wait on sockets and subprocesses, so even two cores go further.
# A file's tests stay on one worker, sharing what the file sets up once.
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile

pytest: $(STAMP)
	$(PYTEST)

# The whole suite on other days (400 days and 5 years ahead, with libfaketime): a test that
# passes today but holds a date that will expire fails here first. The monotonic clock moves
# by the same offset (with FAKETIME_DONT_FAKE_MONOTONIC=1, libfaketime 0.9.10 makes every
# Python time.sleep fail with EINVAL, and so subprocess waits).
FUTURE := faketime -f
test-future: $(STAMP)
	command -v faketime >/dev/null || apt-get install -y -q faketime >/dev/null \
		|| (apt-get update -q >/dev/null && apt-get install -y -q faketime >/dev/null)
	$(FUTURE) +400d $(PYTEST)
	$(FUTURE) +5y $(PYTEST)

bench: $(STAMP)
	$(BIN)/python -m bench

# Refresh the catalogs after changing strings: extract, then merge into fr and en.
i18n: $(STAMP)
	$(BIN)/python locales/sync.py

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
