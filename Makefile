# Acountee — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup migrate seed serve serve-live worker lint format check db-stop bench clean messages screenshots mypy mypy-baseline

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## run: set up, start the database (embedded unless PGURI is set), migrate, seed, serve (Django's dev server:
## WSGI, so each open page's live stream holds one of its threads, docs/live.md),
## with one notification worker beside the server (stopped with it: Ctrl-C stops both).
run: seed
	$(PY) manage.py dispatch_notifications & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## serve: production-style servers; need ACOUNTEE_ENV=production, SECRET_KEY, ALLOWED_HOSTS, PGURI,
## and HTTPS in front (a TLS proxy; SECURE_PROXY_SSL_HEADER and the rest: docs/security.md):
## gunicorn (WSGI, gthread) on PORT for every page, and the live-update stream's ASGI server on LIVE_PORT
## (gunicorn with uvicorn workers: an open page holds no thread there). The proxy sends /live/events to LIVE_PORT,
## unbuffered; without that rule pages simply get no live updates (docs/live.md). Ctrl-C stops both.
serve: migrate
	$(VENV)/bin/gunicorn acountee.asgi:application -k uvicorn_worker.UvicornWorker --bind $(HOST):$${LIVE_PORT:-8001} \
		--workers $${LIVE_WORKERS:-1} --timeout 60 --graceful-timeout 5 & live=$$!; \
	trap 'kill $$live 2>/dev/null; wait $$live 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn acountee.wsgi:application --bind $(HOST):$(PORT) \
		--workers $${WEB_WORKERS:-3} --threads $${WEB_THREADS:-4} --timeout 60

## serve-live: the live-update stream's ASGI server alone (docs/live.md), e.g. on another host than `serve`.
serve-live: migrate
	$(VENV)/bin/gunicorn acountee.asgi:application -k uvicorn_worker.UvicornWorker --bind $(HOST):$${LIVE_PORT:-8001} \
		--workers $${LIVE_WORKERS:-1} --timeout 60 --graceful-timeout 5

## worker: the notification worker alone (production: run it beside `make serve`, any number of them).
worker: migrate
	$(PY) manage.py dispatch_notifications

## test: set up and run the whole suite against real PostgreSQL.
test: setup
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory mypy
	$(VENV)/bin/lint-imports --no-cache
	ACOUNTEE_ENV=test $(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_ARGS)

## mypy: type-check the apps ([tool.mypy] in pyproject.toml; cache in .mypy_cache). Services, selectors, models
## and api/ packages are clean; the other modules' errors are counted, per file and message, in mypy-ratchet.json,
## which may only shrink: a new error fails, and so does a fixed one until `make mypy-baseline` records it.
MYPY_RATCHET := mypy-ratchet.json
MYPY_OUT := .mypy_cache/last-run.txt
mypy: setup
	@mkdir -p .mypy_cache; $(VENV)/bin/mypy > $(MYPY_OUT); status=$$?; \
	if [ $$status -gt 1 ]; then cat $(MYPY_OUT); exit $$status; fi; \
	$(VENV)/bin/mypy-json-report parse --diff-old-report $(MYPY_RATCHET) --output-file /dev/null < $(MYPY_OUT) \
	|| { echo "mypy: the errors differ from $(MYPY_RATCHET), which may only shrink. New errors (listed above):"\
	" fix them. Fixed errors: record them with 'make mypy-baseline' and commit $(MYPY_RATCHET)." >&2; exit 1; }
	@if grep -E '^  "([a-z_]+/)*(services\.py|services/|selectors\.py|models\.py|api/)' $(MYPY_RATCHET); then echo "mypy:"\
	" services, selectors, models and api/ packages stay clean: fix the errors above, never record them." >&2; exit 1; fi

## mypy-baseline: record the current mypy errors in mypy-ratchet.json (after fixing some; never to accept new ones).
mypy-baseline: setup
	@mkdir -p .mypy_cache; $(VENV)/bin/mypy > $(MYPY_OUT); status=$$?; \
	if [ $$status -gt 1 ]; then cat $(MYPY_OUT); exit $$status; fi; \
	$(VENV)/bin/mypy-json-report parse --indentation 2 --output-file $(MYPY_RATCHET) < $(MYPY_OUT)

## messages: regenerate the Vietnamese catalogues (<app>/locale/vi/LC_MESSAGES/django.po; nested apps
## are covered by their parent's) and compile them (.mo files are committed). Needs GNU gettext.
LOCALE_APPS := accounts files audit invoices payments approvals acountee
# Hand-kept Vietnamese, compiled, never extracted: Django's own messages its vi lacks or gets wrong
# (django and djangojs domains), and third-party messages (DRF's validation errors).
LOCALE_THIRDPARTY := acountee/locale_django acountee/locale_thirdparty
messages: setup
	set -e; for app in $(LOCALE_APPS); do \
		mkdir -p $$app/locale; \
		(cd $$app && ../$(PY) ../manage.py makemessages --locale vi --no-obsolete --add-location file \
			--ignore migrations --ignore tests --ignore bench --ignore .venv); \
	done
	set -e; for dir in $(LOCALE_APPS:%=%/locale) $(LOCALE_THIRDPARTY); do \
		for po in $$dir/vi/LC_MESSAGES/django.po $$dir/vi/LC_MESSAGES/djangojs.po; do \
			if [ -f $$po ]; then msgfmt --check -o $${po%.po}.mo $$po; fi; \
		done; \
	done

## screenshots: run the Vietnamese tour (tests/browser/test_tour_vietnamese.py, the README's payment cycle) and save
## every page it visits to docs/screenshots/ (01-home.png, 02-invoice-import.png, …: the README's "Tour").
## Needs a Chromium (Debian: `apt-get install chromium`, or CHROMIUM_PATH=...).
screenshots: setup
	SCREENSHOTS=1 ACOUNTEE_ENV=test $(VENV)/bin/pytest -p no:cacheprovider tests/browser/test_tour_vietnamese.py $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## db-stop: stop the embedded PostgreSQL (it is left running between commands on purpose).
db-stop: setup
	$(PY) -m acountee.db.embedded stop

clean: db-stop
	rm -rf .data $(VENV)
