# The two commands a newcomer needs: `make run` and `make test`.
# Everything installs into .venv in the project root.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
# Browser tests (and mypy, which checks them) need requirements-e2e.txt too.
E2E_STAMP := $(VENV)/.installed-e2e

.PHONY: run test lint format migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever a requirements file changes.
$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## run: install, migrate, load demo data and serve on PORT (default 8000).
run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 0.0.0.0:$(PORT)

## test: the whole suite, on SQLite or on the DATABASE_URL database.
test: $(STAMP)
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings
	$(BIN)/python -m pytest

.PHONY: security
## security: only the security suite, grouped by the OWASP API Security Top 10 (tests/owasp.py).
security: $(STAMP)
	$(BIN)/python -m pytest -m owasp

## lint: ruff (lint and format check) and mypy with the Django and DRF stubs.
lint: $(E2E_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

.PHONY: serve
## serve: production server: collectstatic, then gunicorn with gunicorn.conf.py on PORT.
##   Production settings: SECRET_KEY, JWT_SIGNING_KEY and CREDENTIALS_ENCRYPTION_KEYS required,
##   DEBUG off, HTTPS redirect on; run `python manage.py migrate` first. Locally over plain HTTP, e.g.:
##   SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
##   JWT_SIGNING_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
##   CREDENTIALS_ENCRYPTION_KEYS=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
##   SECURE_SSL_REDIRECT=false make serve
serve: $(STAMP)
	$(BIN)/python manage.py collectstatic --noinput
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py rivergen.wsgi

.PHONY: schema
## schema: regenerate openapi.yaml (validated; any warning fails). Commit the result.
schema: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py spectacular --file openapi.yaml --validate --fail-on-warn

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(E2E_STAMP): $(STAMP) requirements-e2e.txt
	$(BIN)/python -m pip install --quiet -r requirements-e2e.txt
	touch $(E2E_STAMP)

.PHONY: e2e
## e2e: the admin in headless Chromium (tests/e2e), on SQLite or on the DATABASE_URL database.
e2e: $(E2E_STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium chromium-driver; \
	fi
	E2E_REQUIRED=1 $(BIN)/python -m pytest tests/e2e -m e2e

# The list benchmark: requirements-bench.txt, Debian's wrk, PostgreSQL on 127.0.0.1:5432 and
# Redis on 127.0.0.1:6379 for the throttle, as in production (each started when it does not
# answer, unless BENCH_DATABASE_URL / BENCH_REDIS_URL name other servers).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

.PHONY: bench
## bench: GET /api/v1/data-sources under gunicorn beside the floor (bench/run.py documents it).
##   BENCH_ROWS=10000,100000 for other sizes (default 1000000); results in bench/results/.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y wrk; }
	@if [ -z "$$BENCH_DATABASE_URL" ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		$(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	fi
	@if [ -z "$$BENCH_REDIS_URL" ] && ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then \
		command -v redis-server >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y redis-server; }; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	fi
	$(BIN)/python bench/run.py

.PHONY: drill
## drill: reliability drills under gunicorn on a PostgreSQL server of the drill's own (initdb in a
##   temporary directory, on a free port; bench/drill.py documents them): load, concurrent duplicate
##   creates, update/delete races, that server restarted under load, SIGTERM under load.
##   DRILL_ARGS=--short for the CI version (under 1 minute). Exits non-zero if a bound fails.
drill: $(STAMP)
	@if [ -z "$$DRILL_REDIS_URL" ] && ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then \
		command -v redis-server >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y redis-server; }; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	fi
	$(BIN)/python bench/drill.py $(DRILL_ARGS)
