# civicgrid: every command a developer or CI needs. The two to know: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
# Reinstalled when pyproject.toml changes.
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# The demo always runs on the SQLite file var/civicgrid.sqlite3 with the dev settings.
DEMO_ENV := DATABASE_URL= DJANGO_SETTINGS_MODULE=civicgrid.settings.dev
LOCALE_IGNORE := --ignore=node_modules --ignore=var --ignore=staticfiles --ignore=scripts \
	--ignore=bench --ignore=screenshots --ignore=media

.PHONY: help venv install static migrate demo test lint worker scheduler bench messages screenshots check-hard

help:
	@echo "make demo       install, migrate, load the demo (once) and serve http://127.0.0.1:8000"
	@echo "make test       the test suite (SQLite; PostgreSQL when DATABASE_URL is set), PYTEST_ARGS=..."
	@echo "make lint       ruff format --check, ruff check, mypy"
	@echo "make check-hard fuzzing, authorization matrix, faults, abuse, backup (a few minutes)"
	@echo "make install    the virtualenv (.venv) and the front-end libraries"
	@echo "make migrate    apply migrations to the database of DATABASE_URL (default var/civicgrid.sqlite3)"
	@echo "make worker     the background task worker"
	@echo "make scheduler  the periodic scheduler (deadline sweeps)"
	@echo "make bench      run every bench/*.py"
	@echo "make messages   update and compile the zh_Hans translations"
	@echo "make screenshots  PNGs of the main pages at phone and desktop width into screenshots/"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: venv static

# Front-end libraries come from npm with a lock file and are copied under static/vendor/.
static:
	@if [ ! -f package.json ]; then \
		echo "static: no package.json, nothing to install"; \
	elif [ -f scripts/copy_static.sh ]; then \
		sh scripts/copy_static.sh; \
	else \
		npm ci --no-audit --no-fund; \
	fi

migrate: venv
	$(MANAGE) migrate --noinput

demo: install
	mkdir -p var
	$(DEMO_ENV) $(MANAGE) migrate --noinput
	@if $(DEMO_ENV) $(MANAGE) load_demo --status >/dev/null; then \
		$(DEMO_ENV) $(MANAGE) load_demo --logins; \
	else \
		$(DEMO_ENV) $(MANAGE) load_demo --reset; \
	fi
	@echo "Serving http://127.0.0.1:8000 with the task worker and the scheduler beside it (Ctrl-C stops all three)."
	$(DEMO_ENV) $(MANAGE) db_worker --interval 1 & worker=$$!; \
	$(DEMO_ENV) $(MANAGE) run_scheduler & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(DEMO_ENV) $(MANAGE) runserver 127.0.0.1:8000

test: venv
	$(VENV)/bin/pytest -n auto -p no:cacheprovider $(PYTEST_ARGS)

# Fuzzing, authorization matrix, faults, abuse, backup (docs/reliability.md); a few minutes.
check-hard: venv
	$(VENV)/bin/pytest -n 2 --dist loadfile -p no:cacheprovider -m hard $(PYTEST_ARGS) src/civicgrid/core/tests

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	MYPYPATH=src $(VENV)/bin/mypy src

worker: venv
	$(MANAGE) db_worker

scheduler: venv
	$(MANAGE) run_scheduler

bench: venv
	@found=0; for f in bench/[!_]*.py; do \
		[ -e "$$f" ] || continue; found=1; \
		echo "== $$f"; $(PY) "$$f" || exit 1; \
	done; \
	[ $$found = 1 ] || echo "bench: no benchmarks yet (bench/*.py)"

messages: venv
	mkdir -p src/civicgrid/locale
	$(MANAGE) makemessages -l zh_Hans --no-obsolete $(LOCALE_IGNORE)
	$(MANAGE) compilemessages -l zh_Hans --ignore=.venv $(LOCALE_IGNORE)

# Serves a demo in a throwaway database and shoots the main pages in headless Chromium.
screenshots: install
	$(PY) scripts/screenshots.py $(SCREENSHOT_ARGS)
