# The two commands a newcomer needs:
#   make serve   install ZAS into .venv and run it on the embedded defaults
#   make test    install everything the tests need and run lint, types and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test install install-test lint typecheck pytest fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	scripts/install-test-tools.sh

serve: install
	$(BIN)/zas serve $(ARGS)

lint: install-test
	$(BIN)/ruff check zas tests fuzz bench
	$(BIN)/ruff format --check zas tests fuzz bench

typecheck: install-test
	$(BIN)/mypy

pytest: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: install-test
	$(BIN)/ruff check zas tests fuzz bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[fuzz]"
	$(BIN)/python -m fuzz.run --seconds $(or $(SECONDS),60)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
