# `make run` and `make test` are all a new machine needs (README).
VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-stamp
HOST     ?= 127.0.0.1
PORT     ?= 8000
# pytest-xdist workers (tests mostly wait on servers, browsers and databases; see README).
WORKERS  ?= 2

.PHONY: install run test test-quick lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,otel]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/rollcall db upgrade
	$(BIN)/rollcall demo
	$(BIN)/rollcall serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest -n $(WORKERS)

# The quick loop: everything but the browser journeys, conformance runs, races and served processes.
test-quick: install
	$(BIN)/pytest -n $(WORKERS) -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/store_bench.py

clean:
	rm -rf $(VENV) rollcall.db rollcall.db-wal rollcall.db-shm
