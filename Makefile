# Two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

# The laptop default: DEBUG on, SQLite, embedded broker, emails as files.
HOST ?= 127.0.0.1
PORT ?= 8000
RUN_ENV := DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}

.PHONY: run manage test setup setup-test lint migrate chaos clean lock bench bench-delivery digest-image

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Daily Papers needs Python 3.11 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	@touch $@

# Installs exactly the versions pinned in requirements.lock.
$(VENV)/.installed-run: $(VENV)/.python-ok pyproject.toml requirements.lock
	$(PIP) install -q -c requirements.lock -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(PIP) install -q -c requirements.lock -e '.[test]'
	@touch $@

setup: $(VENV)/.installed-run
	@mkdir -p var
	$(RUN_ENV) $(PY) manage.py migrate --no-input -v0
	$(RUN_ENV) $(PY) manage.py ingest_papers --source file --sample
	$(RUN_ENV) $(PY) manage.py collectstatic --no-input -v0

setup-test: $(VENV)/.installed-test

## make run: set everything up, then start web, worker and beat (Ctrl-C stops all).
# The shell waits on its three children; on Ctrl-C or SIGTERM it sends each
# one SIGTERM, once, and waits for them: `kill 0` would signal the shell
# itself (and make), whose trap would fire again, thousands of times.
run: setup
	@$(RUN_ENV) $(PY) manage.py ensure_demo_admin
	@echo "Daily Papers at http://$(HOST):$(PORT)/  (outbox: http://$(HOST):$(PORT)/outbox/)"
	@stop() { trap '' INT TERM; kill -TERM $$web $$worker $$beat 2>/dev/null; wait; }; \
	trap 'stop; exit 0' INT TERM; \
	$(RUN_ENV) $(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=2 & worker=$$!; \
	$(RUN_ENV) $(VENV)/bin/celery -A config beat --loglevel=INFO & beat=$$!; \
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT) --noreload & web=$$!; \
	wait $$web; status=$$?; stop; exit $$status

## make manage ARGS="...": a manage.py command with the laptop defaults `make run` uses
## (DEBUG on, SQLite and the outbox under var/), e.g. make manage ARGS="ingest_papers --source hf".
manage: $(VENV)/.installed-run
	@mkdir -p var
	@$(RUN_ENV) $(PY) manage.py $(ARGS)

## make test: set up the test environment and run every test, in an order shuffled with a
## new seed (printed); `make test SHUFFLE=<seed>` runs that order again.
SHUFFLE ?= random
test: setup-test
	$(PY) -m ruff check .
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run -v0
	$(PY) -m pytest --shuffle $(SHUFFLE) $(PYTEST_ARGS)

## make bench: the digest assembly benchmark (100,000 synthetic readers; leaves the database as it was).
bench: setup
	$(RUN_ENV) $(PY) -m bench.digests --subscribers 100000

## make digest-image: docs/digest.png, the README's daily digest (full and compact side by side; needs Chromium).
digest-image: setup setup-test
	$(RUN_ENV) $(PY) -m bench.email_screenshot

## make bench-delivery: the delivery pipeline against the provider limit (needs DATABASE_URL=postgres://..., REDIS_URL).
bench-delivery: setup-test
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) -m bench.delivery --subscribers $${SUBSCRIBERS:-10000} --latency-ms 0 100

## make chaos: the fault tests at full size (20,000 readers a fault, Redis down 30 s), each with its
## own PostgreSQL cluster and Redis on free ports; the figures go to var/chaos/ and are printed.
CHAOS_READERS ?= 20000
chaos: setup-test
	@rm -rf var/chaos
	CHAOS_READERS=$(CHAOS_READERS) CHAOS_REDIS_OUTAGE_SECONDS=$${CHAOS_REDIS_OUTAGE_SECONDS:-30} \
	CHAOS_REQUEUE_SECONDS=$${CHAOS_REQUEUE_SECONDS:-60} CHAOS_REPORT_DIR=var/chaos \
	$(PY) -m pytest -p no:cacheprovider -v -m chaos tests/ops/test_chaos.py $(PYTEST_ARGS); \
	status=$$?; $(PY) -m tests.chaos.report var/chaos; exit $$status

lint: setup-test
	$(PY) -m ruff check .

# Regenerate requirements.lock from pyproject.toml (review the diff).
LOCK_HEADER := \# Pins for every extra (make lock); an install takes only what it asks for: boto3 comes with .[ses] (and .[test]).
lock:
	rm -rf /tmp/dp-lock && $(PYTHON) -m venv /tmp/dp-lock
	/tmp/dp-lock/bin/pip install -q --upgrade pip
	/tmp/dp-lock/bin/pip install -q '.[test,ses]'
	{ echo "$(LOCK_HEADER)"; /tmp/dp-lock/bin/pip freeze --exclude-editable | grep -vi '^daily-papers'; } > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache
