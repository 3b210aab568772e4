# Two commands are all a new user needs: `make book` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: book test full smoke workshop fetch key install lock bench clean distclean

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

# The exact versions (and sha256 of every file) the book's numbers were made with, then the project itself.
$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --require-hashes -r requirements.lock
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

# Re-resolve requirements.lock from pyproject.toml (newest versions its ranges allow; then rerun the book).
# torch comes from the CPU wheel on this machine's disk (/opt/wheels); on a GPU machine, install from pyproject.toml.
lock: $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q uv==0.13.8
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11.7 \
		--python-platform x86_64-manylinux_2_28 --find-links /opt/wheels --annotation-style line \
		--custom-compile-command "make lock" -o requirements.lock

bench: fetch  ## speed benchmarks; results go to benchmarks/RESULTS.md
	@ls benchmarks/*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:  ## executed notebooks, artifacts and HTML of every profile
	rm -rf _build

distclean: clean  ## also the virtual environment (the data cache is kept)
	rm -rf $(VENV)
