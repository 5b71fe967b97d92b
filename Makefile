# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format bench migrate simulate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-dev: requirements/base.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.installed-base

migrate: $(VENV)/.installed-base
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput -v0

run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py collectstatic --noinput -v0
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py bootstrap_demo --base-url http://$(HOST):$(PORT)
	@# The background worker (webhook deliveries, docs/WEBHOOKS.md) runs beside the server and
	@# stops with it.
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	DEBUG=$${DEBUG:-1} $(BIN)/python -m config.server --simulate-missing-providers \
		--host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

simulate: $(VENV)/.installed-base
	$(BIN)/python -m simulators

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache staticfiles
