# raidline: `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench soak clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/raidline run

# Two workers (pytest-xdist): the suite is mostly waiting on subprocesses, sockets and the
# databases; TEST_WORKERS=0 runs it in one process. An idle worker takes tests queued for the
# other (worksteal), so neither finishes alone at the end.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -ra -n $(TEST_WORKERS) $(if $(filter 0,$(TEST_WORKERS)),,--dist worksteal) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bot adapters storage tests benchmarks
	$(BIN)/ruff format --check bot adapters storage tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/python -m tests.contracts.cycles

format: $(STAMP)
	$(BIN)/ruff format bot adapters storage tests benchmarks
	$(BIN)/ruff check --fix bot adapters storage tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH)

# Ten minutes of mixed traffic against the stand-ins; memory must stay flat, nothing logged as an error.
soak: $(STAMP)
	$(BIN)/python -m tests.reliability.soak --minutes $(or $(SOAK_MINUTES),10)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
