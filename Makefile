# Two commands are all a new user needs: `make book` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: book test full smoke workshop fetch key install bench clean distclean

book: fetch key  ## run the standard profile and build the HTML book
	$(PY) -m retention_lib run --profile standard
	$(PY) -m retention_lib build --profile standard

test: fetch  ## the whole test suite, including a smoke run of every chapter and a book build
	$(PY) -m pytest

full: fetch key  ## the full profile (meant for a GPU) and its book
	$(PY) -m retention_lib run --profile full
	$(PY) -m retention_lib build --profile full

smoke: fetch  ## every chapter on tiny data, and its book (a few minutes)
	$(PY) -m retention_lib run --profile smoke
	$(PY) -m retention_lib build --profile smoke

workshop: fetch key  ## every chapter at workshop sizes, and the participants' folder _build/workshop/kit
	$(PY) -m retention_lib workshop

key: $(STAMP)  ## a random pseudonymisation key in ~/.config/retention-lib (once; outside the repository)
	$(PY) -m retention_lib keygen --if-missing

fetch: $(STAMP)  ## download, verify and unpack the pinned data and model (once)
	$(PY) -m retention_lib fetch

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	touch $(STAMP)

bench: fetch  ## speed benchmarks; results go to benchmarks/RESULTS.md
	@ls benchmarks/*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:  ## executed notebooks, artifacts and HTML of every profile
	rm -rf _build

distclean: clean  ## also the virtual environment (the data cache is kept)
	rm -rf $(VENV)
