# The two commands a new user needs are `make test` and `make book`; both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg

.PHONY: help venv test unit book browser outputs bench lint lab clean

help:
	@echo "make test     unit tests, doctests, nbval on every chapter, then build the book and check it in a browser"
	@echo "make book     build the HTML book into _build/html (warnings are errors)"
	@echo "make outputs  re-execute every chapter in place to refresh its stored outputs"
	@echo "make bench    time objlib against the implementations users would otherwise call"
	@echo "make lint     ruff over the library, tests, benchmarks and notebooks"
	@echo "make lab      open the chapters in JupyterLab"

# A virtual environment with every pinned package, made on first use and refreshed when the pins change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

venv: $(STAMP)

# Unit tests and doctests of objlib, and nbval on every chapter (one notebook per worker).
# One OpenMP thread per worker: two workers of two spinning threads each on two cores stall
# torch's small kernels badly. The book build below runs the notebooks with the default threads.
unit: venv
	OMP_NUM_THREADS=1 $(BIN)/pytest -n $(JOBS) --dist loadscope -m "not browser" --doctest-modules objlib tests $(NBVAL) chapters

test: unit
	$(MAKE) book
	$(BIN)/pytest -m browser tests/test_book_browser.py

# A clean build each time: Sphinx's incremental builds keep pages of removed files.
book: venv
	rm -rf _build/html _build/.doctrees
	tools/stage_mathjax.sh
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@echo "The book is in _build/html: open _build/html/index.html in a browser."

browser: venv
	$(BIN)/pytest -m browser tests/test_book_browser.py

outputs: venv
	$(BIN)/python tools/execute_notebooks.py

bench: venv
	$(BIN)/python benchmarks/run.py

lint: venv
	$(BIN)/ruff check objlib tests benchmarks tools chapters

lab: venv
	$(BIN)/jupyter lab chapters/

clean:
	rm -rf _build
