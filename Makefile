# Every target creates the virtualenv first, so each works from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run check test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## set up and run the bot (reads .env)
	$(BIN)/python -m bot

check: $(STAMP)  ## validate the configuration without starting
	$(BIN)/python -m bot check

test: $(STAMP)  ## set up and run lint, types and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy bot cogs db bench
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot cogs db
	$(BIN)/mypy bot cogs db bench

bench: $(STAMP)  ## run the benchmarks and print the table
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
