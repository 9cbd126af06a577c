# plptms: `make run` and `make test` are all a newcomer types.
# Every target bootstraps its own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test bench lint clean venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)  ## the web application on 127.0.0.1 with demonstration data (SQLite, simulator)
	$(BIN)/plptms serve --demo --host 127.0.0.1 --port $${PLPTMS_PORT:-8000}

demo: $(STAMP)  ## the terminal walk-through of one patient's path
	$(BIN)/plptms demo

test: $(STAMP)  ## full test suite (SQLite, and PostgreSQL when a server is installed)
	scripts/with_postgres.sh $(BIN)/python -m pytest

bench: $(STAMP)  ## benchmarks, written to docs/benchmarks.md
	scripts/with_postgres.sh $(BIN)/python benchmarks/run.py --output docs/benchmarks.md

lint: $(STAMP)  ## ruff + mypy on the package
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
