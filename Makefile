# Two commands matter: `make demo` renders real images on the local stand-ins, and
# `make test` runs the whole suite. Both install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= .cache/standin-data

.PHONY: setup data test demo serve lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

data: setup
	$(PY) -m standin.datasets install --dir $(DATA_DIR)

test: data
	$(PY) -m pytest

demo: data
	$(PY) -m local.demo

serve: data
	$(PY) -m local.serve

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: data
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .cache out .pytest_cache .mypy_cache .ruff_cache
