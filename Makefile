# Every target installs what it needs first, so any of them works on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_CONCURRENCY ?= 2
THREADS ?= 8
SQLITE_URL := sqlite:///$(CURDIR)/db.sqlite3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

BENCH_ARGS ?=
SOAK_SECONDS ?= 300

FRONTEND := examples/frontend
FRONTEND_STAMP := $(FRONTEND)/node_modules/.installed-$(shell cksum < $(FRONTEND)/package-lock.json | cut -d' ' -f1)
FRONTEND_PORT ?= 3000

.PHONY: help install run worker serve frontend frontend-run bench soak test test-sqlite test-postgres lint format clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## Create .venv and install the pinned requirements

run: install ## Migrate, seed demo data, print a curl line and start the dev server (uvicorn, reloading; the worker beside it)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --users 3 --tasks-per-user 5 --lists
	@token=$$($(PY) manage.py mint_token demo-user-1 --ttl 86400 2>/dev/null) && \
	  printf '\nReady. Try (token valid 24 h):\n  curl -H "Authorization: Bearer %s" http://$(HOST):$(PORT)/api/demo-user-1/tasks\n' "$$token" && \
	  printf '  curl -X POST -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '"'"'{"title": "Buy milk"}'"'"' http://$(HOST):$(PORT)/api/demo-user-1/tasks\n' "$$token" && \
	  printf '  curl -X POST -H "Authorization: Bearer %s" -H "Content-Type: application/json" -d '"'"'{"message": "add a task to buy milk"}'"'"' http://$(HOST):$(PORT)/api/demo-user-1/chat\n' "$$token" && \
	  printf 'API docs: http://$(HOST):$(PORT)/api/docs/   Admin: http://$(HOST):$(PORT)/admin/ (python manage.py createsuperuser)\n\n'
	@$(PY) manage.py worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/uvicorn todo_project.asgi:application --host $(HOST) --port $(PORT) --reload --no-access-log \
	    $(foreach dir,todo_project tasks chat events webhooks mcp_server,--reload-dir $(dir))

worker: install ## The background worker: numbers the events, delivers webhooks, relays to NATS JetStream (EVENTS_URL), prunes
	$(PY) manage.py worker

serve: install ## Production server (gunicorn + uvicorn workers, todo_project/asgi.py) on $HOST:$PORT, after migrations and collectstatic
	DJANGO_DEBUG=$${DJANGO_DEBUG:-false} $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-false} $(PY) manage.py collectstatic --noinput -v0
	DJANGO_DEBUG=$${DJANGO_DEBUG:-false} HOST=$(HOST) PORT=$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY) THREADS=$(THREADS) \
	  $(VENV)/bin/gunicorn -c python:todo_project.gunicorn todo_project.asgi:application

$(FRONTEND_STAMP): $(FRONTEND)/package-lock.json
	@command -v npm >/dev/null || (echo "The reference frontend needs Node.js 20+ and npm" >&2; exit 1)
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	@rm -f $(FRONTEND)/node_modules/.installed-*
	@touch $@

$(FRONTEND)/dist/index.html: $(FRONTEND_STAMP) $(FRONTEND)/index.html $(FRONTEND)/vite.config.mjs $(wildcard $(FRONTEND)/src/*)
	cd $(FRONTEND) && npm run build --silent

frontend: $(FRONTEND)/dist/index.html ## Install the reference frontend (examples/frontend) from npm and build its page

frontend-run: frontend ## The reference frontend on :3000 (FRONTEND_PORT) for the API on :8000; needs BETTER_AUTH_SECRET
	cd $(FRONTEND) && PORT=$(FRONTEND_PORT) HOST=$(HOST) API_URL=$${API_URL:-http://$(HOST):$(PORT)} npm start --silent

bench: install ## Benchmark on PostgreSQL with wrk, against a bare baseline (BENCH_ARGS="--growth" for 1M tasks, "--against REV" vs a git revision)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/run.py $(BENCH_ARGS)

soak: install ## 5 minutes of mixed load against the production server (SOAK_SECONDS=300)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	SOAK_SECONDS=$(SOAK_SECONDS) WEB_CONCURRENCY=$(WEB_CONCURRENCY) THREADS=$(THREADS) $(PY) bench/soak.py

test: test-sqlite test-postgres ## Run the suite on SQLite, then on PostgreSQL ($TEST_DATABASE_URL)

test-sqlite: install frontend
	@echo "== tests on SQLite =="
	DATABASE_URL=$(SQLITE_URL) FRONTEND_POSTGRES_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install frontend
	@echo "== tests on PostgreSQL ($(TEST_DATABASE_URL)) =="
	DATABASE_URL=$(TEST_DATABASE_URL) FRONTEND_POSTGRES_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: install ## ruff check and format check, then mypy (the files in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m mypy

format: install ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## Remove the virtualenv, caches, collected static files and the SQLite database
	rm -rf $(VENV) $(FRONTEND)/node_modules $(FRONTEND)/dist .pytest_cache .ruff_cache staticfiles db.sqlite3 db.sqlite3-shm db.sqlite3-wal
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
