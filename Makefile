# Arbiter: `make run` to try it, `make test` to check it. Only Python 3.11 is needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install dev serve migrate seed test lint worker worker-default beat check clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools
	$(PIP) install -q -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Create .venv, install, migrate, seed demo data and serve on http://127.0.0.1:8000 (SQLite, no services).
run: seed
	@echo ""
	@echo "  Arbiter is starting on http://$(HOST):$(PORT)/  (sign in with a demo user printed above)"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

## The whole test suite. Uses DATABASE_URL if set, else PostgreSQL on 127.0.0.1:5432 if it answers, else SQLite.
test: dev
	@export DATABASE_URL="$$($(PY) -m config.test_database)" && $(PY) -m pytest $(PYTEST_ARGS)

lint: dev
	$(VENV)/bin/ruff check .

check: dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

## Production processes (docs/operations.md); they need DATABASE_URL and REDIS_URL.
## gunicorn with the recommended settings (config/gunicorn.py): about one worker per core, 4 threads each.
serve: install
	GUNICORN_BIND=$(HOST):$(PORT) $(VENV)/bin/gunicorn config.wsgi --config python:config.gunicorn

## Celery worker for the validation queue (artifact validation and scrubbing: long tasks).
worker: install
	$(VENV)/bin/celery -A config worker -Q $${CELERY_VALIDATION_QUEUE:-validation} --loglevel=INFO --concurrency=2

## Celery worker for the default queue (notifications, webhooks, exports, periodic sweeps).
worker-default: install
	$(VENV)/bin/celery -A config worker -Q $${CELERY_QUEUE:-default} --loglevel=INFO --concurrency=2

## The periodic scheduler: exactly one per deployment.
beat: install
	$(VENV)/bin/celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var/arbiter.sqlite3* var/media
