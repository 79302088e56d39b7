# Two commands: `make run` starts Countersign on this machine with demo
# accounts; `make test` runs the tests. Both set up .venv first, again
# whenever pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Test processes (pytest-xdist): the tests that wait on timers and on
# subprocesses overlap with the rest. JOBS=0 runs them all in one.
JOBS ?= 2

.PHONY: run test

run: $(STAMP)
	$(BIN)/countersign up --demo

test: $(STAMP)
	$(BIN)/pytest tests/ -n $(JOBS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)
