# Every setup step lives here or in a script this file calls, so a fresh machine needs only
# Python 3.11 (and, for the tests, PostgreSQL and Redis installed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
ROWS ?= 5000000

.DEFAULT_GOAL := help
.PHONY: help install lock run test test-compose test-swarm test-fast lint format services services-down bench bench-cache clean demo-querykiller bench-monitoring bench-admin bench-api fuzz-api bench-replica chaos

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 is required, found " + sys.version.split()[0]) if sys.version_info[:2] != (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## create .venv and install the locked requirements (pinned, hash-checked)

# The lock files are written from the .in files; versions already locked stay unless a flag says
# otherwise (LOCK_FLAGS="--upgrade-package NAME" moves one package, "--upgrade" moves them all).
# requirements-dev.txt takes its runtime pins from requirements.txt, so the two never disagree.
# --universal keeps markers (async-timeout for Python < 3.11.3) instead of evaluating them here.
LOCK := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock"
lock: ## rewrite requirements.txt and requirements-dev.txt (hashed) from requirements*.in
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet "$$(grep -E '^uv==' requirements-dev.in)"; }
	$(LOCK) $(LOCK_FLAGS) requirements.in -o requirements.txt
	$(LOCK) $(LOCK_FLAGS) requirements-dev.in --constraint requirements.txt -o requirements-dev.txt

run: install ## migrate, seed demo data if empty, and run web + worker + beat (Ctrl-C stops all)
	@# Development mode unless DJANGO_DEBUG is set in the environment or in .env.
	if [ -z "$${DJANGO_DEBUG+set}" ] && ! grep -qs '^ *DJANGO_DEBUG=' .env; then export DJANGO_DEBUG=1; fi; \
	$(BIN)/python manage.py runall --prepare 127.0.0.1:$(PORT)

services: ## start PostgreSQL primary + streaming replica + Redis for tests (idempotent)
	deploy/services.sh up

services-down: ## stop the replica and anything else services started
	deploy/services.sh down

test: install services tests/axe/node_modules/.installed ## set everything up and run the whole suite on the real services
	deploy/apt-install.sh chromium=chromium
	$(BIN)/pytest

test-compose: install ## docker compose up on a real engine (stand-in images where no registry answers), checked through nginx
	deploy/standins/engine.sh $(VENV)
	deploy/standins/build.sh
	$(BIN)/python -m tests.compose_run

# axe-core (pinned in tests/axe/package-lock.json) for the browser tests' accessibility checks.
tests/axe/node_modules/.installed: tests/axe/package.json tests/axe/package-lock.json
	deploy/apt-install.sh npm=npm
	npm ci --prefix tests/axe --no-audit --no-fund --silent
	touch $@

test-fast: install services ## the suite without browser tests and the slow (100k-row) plan tests
	$(BIN)/pytest -m "not browser and not slow"

test-swarm: install ## deploy/stack.yml on a one-node swarm: roll web forward and back, scale workers, under load
	deploy/standins/engine.sh $(VENV)
	deploy/standins/build.sh
	timeout 1800 $(BIN)/python -m tests.swarm

lint: install ## pre-commit's hooks on every file (ruff, ruff format, django-upgrade, codespell), then mypy and the Kubernetes manifests rendered and validated offline
	$(BIN)/pre-commit run --all-files --show-diff-on-failure
	$(BIN)/mypy .
	$(BIN)/python deploy/k8s/validate.py
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive .

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install services ## HTTP benchmark: home page, post page and a bare Django view under wrk
	$(BIN)/python -m benchmarks.http

bench-cache: install services ## background-filled cache vs request-path refill vs plain hit (gunicorn + a Celery worker)
	$(BIN)/python -m benchmarks.cache

demo-querykiller: install services ## beat + worker kill a long query within interval + grace; mail counted
	$(BIN)/python -m benchmarks.querykiller

bench-monitoring: install services ## overhead of the request-metrics middleware on one endpoint, with and without
	$(BIN)/python -m benchmarks.monitoring

bench-admin: install services ## admin changelist at ROWS posts (default 5,000,000): ours vs stock Django, and ours at 10,000
	ROWS=$(ROWS) $(BIN)/python -m benchmarks.admin

bench-api: install services ## API benchmark: our post list vs a DRF-tutorial viewset vs bare Django, 10k and 1M posts
	$(BIN)/python -m benchmarks.api

fuzz-api: install services ## schemathesis over the whole API schema (FUZZ_EXAMPLES per operation, default 100)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} $(BIN)/pytest -m fuzz api/tests/test_schema_fuzz.py

bench-replica: install services ## replica stopped and started under read/write load (REPLICA_PORT picks the replica)
	$(BIN)/python -m benchmarks.replica

clean: ## remove the virtualenv and the embedded default's local state
	rm -rf $(VENV) var

chaos: install ## fault drill: own primary/replica/Redis x2/web/worker/beat, six faults under load, JSON per fault
	$(BIN)/python -m benchmarks.chaos
