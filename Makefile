# The two commands a new user needs are `make test` and `make book`; both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
PORT ?= 8000
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg
# Records each notebook's nbval result, so the builds below use its checked outputs (tools/nbval_record.py).
RECORD := -p tools.nbval_record
JB := $(BIN)/jupyter-book build . -W -n --keep-going
# The student-edition chapters that CI grades with nbgrader end to end (see tests/test_student_edition.py).
GRADE_SAMPLE ?= chapters/01_what_is_an_objective.ipynb
SUBMISSIONS ?= submissions

.PHONY: help venv test unit typecheck verify book serve browser pdf student grade outputs bench compile-check wheel-test lint lab clean

help:
	@echo "make test     unit tests, doctests and nbval on every chapter (each executed once), then the book,"
	@echo "              the browser check, the student edition and the PDF, all from the checked outputs"
	@echo "make book     build the HTML book into _build/html (checks stale outputs with nbval first)"
	@echo "make serve    serve the built book at http://127.0.0.1:$(PORT) (PORT=...)"
	@echo "make pdf      write the whole book as one PDF: _build/pdf/objectives.pdf"
	@echo "make student  write the course edition of every chapter into _build/student/"
	@echo "make grade    grade the notebooks in SUBMISSIONS=folder (one subfolder per student): _build/grades.csv"
	@echo "make outputs  re-execute every chapter in place to refresh its stored outputs"
	@echo "make bench    time objlib against the implementations users would otherwise call"
	@echo "make compile-check  every objective under torch.compile(fullgraph=True) against eager (minutes)"
	@echo "make wheel-test     build the wheel, install it in a fresh venv, test the installed package"
	@echo "make typecheck      mypy over objlib's type hints"
	@echo "make lint     ruff over the library, tests, benchmarks and notebooks"
	@echo "make lab      open the chapters in JupyterLab"

# A virtual environment with every pinned package, made on first use and refreshed when the pins change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

venv: $(STAMP)

# Unit tests and doctests of objlib, and nbval on every chapter (one notebook per worker): the one
# execution of each notebook in `make test`. One OpenMP thread per worker: two workers of two
# spinning threads each on two cores stall torch's small kernels badly.
unit: venv
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest $(RECORD) -n $(JOBS) --dist loadscope -m "not browser" \
	  --ignore tests/test_student_edition.py --ignore tests/test_pdf.py \
	  --doctest-modules objlib tests $(NBVAL) chapters

test: unit typecheck lint
	$(MAKE) book
	$(BIN)/python -m pytest -m browser tests/test_book_browser.py
	$(MAKE) student
	$(BIN)/python -m pytest tests/test_student_edition.py
	$(MAKE) pdf
	$(BIN)/python -m pytest tests/test_pdf.py

typecheck: venv
	$(BIN)/mypy

# The book is built from the notebooks' stored outputs, never re-executed by Jupyter Book: first
# every notebook whose outputs nbval has not checked since it (or objlib, or the pins) last changed
# is checked now, and a notebook that prints something else stops the build.
verify: venv
	$(BIN)/python tools/verify_outputs.py --jobs $(JOBS)

# A clean build each time: Sphinx's incremental builds keep pages of removed files.
book: verify
	rm -rf _build/html _build/.doctrees
	tools/stage_mathjax.sh
	$(JB) --builder html
	@echo "The book is in _build/html: open _build/html/index.html, or run 'make serve'."

serve:
	@test -f _build/html/index.html || { echo "no built book: run 'make book' first"; exit 1; }
	$(BIN)/python tools/serve.py _build/html --port $(PORT)

browser: venv
	$(BIN)/python -m pytest -m browser tests/test_book_browser.py

# One PDF of the whole book: a single-page HTML build printed by headless Chromium (tools/make_pdf.py).
pdf: verify
	rm -rf _build/singlehtml
	tools/stage_mathjax.sh
	$(JB) --builder singlehtml
	$(BIN)/python tools/make_pdf.py _build/singlehtml/index.html _build/pdf/objectives.pdf

# The course edition (nbgrader): solutions replaced by cells to fill in, answers checked by hidden tests.
student: verify
	$(BIN)/python tools/student_edition.py

grade: venv
	$(BIN)/python tools/student_edition.py --grade $(SUBMISSIONS)

outputs: venv
	$(BIN)/python tools/execute_notebooks.py

bench: venv
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_self_supervised.py  # the 2-process losses against one process

compile-check: venv
	$(BIN)/python tools/check_compiled.py

# objlib as a practitioner installs it: wheel and sdist, a fresh venv, tests against the installed copy.
wheel-test: venv
	PYTHON=$(BIN)/python tools/test_wheel.sh

lint: venv
	$(BIN)/ruff check objlib tests benchmarks tools chapters _ext

lab: venv
	$(BIN)/jupyter lab chapters/

clean:
	rm -rf _build
