# Towne Graph — build and run entry points (GNU make).
#
#   make run        serve the API on 127.0.0.1:$(PORT) (embedded PostgreSQL unless DATABASE_URL is set)
#   make test       run the test suite (PYTEST_ARGS="-k foo -x" to pass arguments to pytest)
#   make lint       ruff check, ruff format --check, mypy
#   make bench      run the assignment benchmark
#   make sample-invoice   render the SYNTHETIC sample invoice PDF into docs/sample-invoice.pdf (no database)
#   make db-up      start the embedded PostgreSQL cluster (.data/postgres) and print its URL
#   make db-stop    stop the embedded PostgreSQL cluster
#   make backup     pg_dump -Fc of the database into FILE (default .data/backups/NAME-<UTC time>.dump)
#   make restore FILE=x.dump [DATABASE=name] [CLEAN=1]   restore a dump into a fresh database
#
# `make` alone only prints this help.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PORT ?= 8000
PYTEST_ARGS ?=
LINT_PATHS := $(wildcard schema resolvers spatial billing migrations db server importer tests bench)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv run test lint bench sample-invoice db-up db-stop db-url backup restore

help:
	@echo "targets:"
	@echo "  run       serve the API on 127.0.0.1:\$$PORT (PORT=$(PORT)); starts the embedded database"
	@echo "  test      run the tests (PYTEST_ARGS=... is passed to pytest)"
	@echo "  lint      ruff check + ruff format --check + mypy"
	@echo "  bench     run bench/assign.py"
	@echo "  sample-invoice  render the SYNTHETIC sample invoice into docs/sample-invoice.pdf (domain.md §5 F-1)"
	@echo "  db-up     start the embedded PostgreSQL cluster in .data/postgres and print its URL"
	@echo "  db-stop   stop the embedded PostgreSQL cluster"
	@echo "  db-url    print the embedded database URL"
	@echo "  backup    pg_dump -Fc of the database (FILE=..., default .data/backups/; DATABASE=name)"
	@echo "  restore   restore FILE=x.dump into a fresh database (DATABASE=name; CLEAN=1 replaces a non-empty one)"
	@echo "  venv      create/refresh .venv (pip install -e '.[dev]')"

venv: $(STAMP)

# (Re)create the virtualenv when it is missing or pyproject.toml changed. Debian ships python3 without
# ensurepip: install python3-venv with apt-get when we are root, else say which command to run.
$(STAMP): pyproject.toml
	@if ! [ -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -m pip --version >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  if ! $(PYTHON) -m venv $(VENV); then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "make: '$(PYTHON) -m venv' failed; installing python3-venv with apt-get" >&2; \
	      export DEBIAN_FRONTEND=noninteractive; \
	      apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV) || exit 1; \
	    else \
	      echo "make: '$(PYTHON) -m venv' failed (ensurepip is missing). Run:" >&2; \
	      echo "    sudo apt-get install -y python3-venv" >&2; \
	      exit 1; \
	    fi; \
	  fi; \
	fi
	$(VENV)/bin/python -m pip install -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/towne run --port $(PORT)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy $(LINT_PATHS)

bench: $(STAMP)
	$(VENV)/bin/python bench/assign.py

# the same bytes on every machine (server/invoice_pdf.py renders deterministically): commit the result
sample-invoice: $(STAMP)
	$(VENV)/bin/towne sample-invoice --out docs/sample-invoice.pdf

# Backups (docs/operations.md): the server of DATABASE_URL, else the embedded cluster; DATABASE names another
# database on it. `restore` refuses a non-empty target unless CLEAN=1.
FILE ?=
DATABASE ?=
CLEAN ?=

backup: $(STAMP)
	$(VENV)/bin/python -m server.backup dump $(FILE) $(if $(DATABASE),--database $(DATABASE))

ifneq ($(filter restore,$(MAKECMDGOALS)),)
ifeq ($(strip $(FILE)),)
$(error usage: make restore FILE=path/to/file.dump [DATABASE=name] [CLEAN=1])
endif
endif

restore: $(STAMP)
	$(VENV)/bin/python -m server.backup restore $(FILE) $(if $(DATABASE),--database $(DATABASE)) $(if $(CLEAN),--clean)

# devdb is stdlib only: these work without the virtualenv.
db-up:
	$(PYTHON) -m server.devdb up

db-stop:
	$(PYTHON) -m server.devdb stop

db-url:
	@$(PYTHON) -m server.devdb url
