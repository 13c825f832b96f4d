# Every target creates the virtualenv first, so each works from a fresh clone (only python3 and make needed).
# The virtualenv holds exactly the versions in requirements/dev.lock (hash-checked); `make lock` refreshes it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCKS := requirements/dev.lock requirements/runtime.lock
UV_VERSION := 0.13.9
# Lock for the Python the Dockerfile runs; `make lock UPGRADE=1` moves every pin to the newest release.
LOCK_FLAGS := --generate-hashes --python-version 3.11 --quiet $(if $(UPGRADE),--upgrade)

.PHONY: run check test lint deps bench lock clean

# A fresh environment each time the locks change, so nothing outside them lingers.
$(STAMP): pyproject.toml $(LOCKS)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)  ## set up and run the bot (reads .env)
	$(BIN)/python -m bot

check: $(STAMP)  ## validate the configuration without starting
	$(BIN)/python -m bot check

test: $(STAMP)  ## set up and run lint, types, declared dependencies and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy bot cogs db bench
	$(BIN)/lint-imports --no-cache
	$(MAKE) --no-print-directory deps
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot cogs db
	$(BIN)/mypy bot cogs db bench
	$(BIN)/lint-imports --no-cache

# The shipped code may import only runtime dependencies; tests and bench may also import the dev extras
# (deptry skips tests/ unless told otherwise, hence --exclude).
deps: $(STAMP)  ## check that every import is a declared dependency
	$(BIN)/deptry bot cogs db
	$(BIN)/deptry tests bench --exclude '\.venv' --ignore DEP002,DEP004

# The runtime lock is solved within the dev lock, so both agree on every shared version.
lock:  ## re-solve requirements/*.lock from pyproject.toml (keeps current pins unless UPGRADE=1)
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet uv==$(UV_VERSION); }
	UV_CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) \
		-o requirements/dev.lock
	UV_CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) \
		-c requirements/dev.lock -o requirements/runtime.lock

bench: $(STAMP)  ## run the benchmarks and print the table
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
