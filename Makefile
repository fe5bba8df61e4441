# Two entry points: `make run` (install, migrate, start the site with a demo election)
# and `make test` (install, then lint, type-check and run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps gettext messages makemessages postgres-server postgres run test lint typecheck pytest jstest test-mongodb mongodb-migrations clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed messages

# The translations: locale/<language>/LC_MESSAGES/django.po and djangojs.po are
# committed; the .mo files Django reads are compiled from them here, never committed.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)
LOCALE_IGNORE := --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=var

$(MO_FILES) &: $(PO_FILES) $(VENV)/.installed | gettext
	$(BIN)/python manage.py compilemessages $(LOCALE_IGNORE)

messages: $(MO_FILES)

# After a change to the site's strings: extract them again into every catalog, then
# translate what is new (msgstr "") and remove the fuzzy marks; tests/test_i18n.py
# fails while a string is missing, untranslated or fuzzy.
MAKEMESSAGES := $(BIN)/python manage.py makemessages --all --no-obsolete --add-location=file \
	$(LOCALE_IGNORE) --ignore=tests --ignore=bench --ignore=observer --ignore=docs \
	--ignore=elections/static/elections/vendor
makemessages: $(VENV)/.installed gettext
	$(MAKEMESSAGES) --domain=django
	$(MAKEMESSAGES) --domain=djangojs --extension=js,mjs

# Debian's gettext: msgfmt for compilemessages, xgettext and msgmerge for makemessages.
gettext:
	@if ! command -v msgfmt >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gettext; \
	fi

# Debian's chromium for the browser tests (never a browser downloaded by a test tool),
# node and npm, and gettext for the translations.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null || ! command -v msgfmt >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium nodejs fonts-dejavu-core gettext; \
	fi
	@if ! command -v npm >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; \
	fi

# The node packages the tests use (axe-core, run in the browser tests), exactly as
# package-lock.json pins them.
node_modules/.installed: package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund
	touch $@

# PostgreSQL for the tests, the real multi-writer database of the live-site tests.
# Debian's server, in a cluster of its own (initdb refuses to run as root; Debian's
# cluster tools run it as the postgres user) that listens on loopback only (the
# default, listen_addresses = 'localhost') and starts only when asked. The tests log
# in as a role that may create databases but is no superuser, with a password made
# at set-up and kept in $(PG_URL_FILE) (mode 0600), never committed: a password
# rather than trust authentication, because trust would let any local account
# connect as the cluster's superuser. Running it again reuses the cluster and the
# role (and starts the cluster if it is down); a TEST_POSTGRES_URL already set in
# the environment (any server) is used instead, and nothing here runs.
PG_CLUSTER := evoting-test
PG_ROLE := evoting_test
PG_URL_FILE := var/postgres-test-url
AS_POSTGRES := $(if $(SUDO),sudo -u postgres,runuser -u postgres --)
# The newest installed server (a client-only package also makes a version folder).
PG_VERSION = $(shell ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 | cut -d/ -f5)

postgres-server:
	@if [ -z "$$TEST_POSTGRES_URL" ] && { ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
			|| ! command -v pg_createcluster >/dev/null; }; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; \
	fi

postgres: postgres-server
	@set -e; \
	if [ -n "$$TEST_POSTGRES_URL" ]; then exit 0; fi; \
	cluster() { pg_lsclusters -h | awk '$$1 == "$(PG_VERSION)" && $$2 == "$(PG_CLUSTER)"'; }; \
	if [ -z "$$(cluster)" ]; then \
		$(SUDO) pg_createcluster --start-conf=manual --locale=C.UTF-8 \
			-o max_connections=200 \
			$(PG_VERSION) $(PG_CLUSTER) >/dev/null; \
	fi; \
	case "$$(cluster | awk '{print $$4}')" in \
		online*) ;; \
		*) $(SUDO) pg_ctlcluster $(PG_VERSION) $(PG_CLUSTER) start ;; \
	esac; \
	port="$$(cluster | awk '{print $$3}')"; \
	if ! { [ -s $(PG_URL_FILE) ] && psql "$$(cat $(PG_URL_FILE))" -qtAc 'SELECT 1' >/dev/null 2>&1; }; then \
		password="$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(24))')"; \
		superuser() { (cd / && $(AS_POSTGRES) psql --cluster $(PG_VERSION)/$(PG_CLUSTER) \
			-d postgres -qtA -v ON_ERROR_STOP=1 "$$@"); }; \
		if [ -z "$$(superuser -c "SELECT 1 FROM pg_roles WHERE rolname = '$(PG_ROLE)'")" ]; then \
			superuser -c 'CREATE ROLE $(PG_ROLE)'; \
		fi; \
		printf "ALTER ROLE $(PG_ROLE) LOGIN CREATEDB NOSUPERUSER PASSWORD '%s';\n" "$$password" \
			| superuser; \
		mkdir -p var; (umask 077 && printf 'postgres://$(PG_ROLE):%s@127.0.0.1:%s/postgres\n' \
			"$$password" "$$port" > $(PG_URL_FILE)); \
	fi; \
	echo "PostgreSQL $(PG_VERSION)/$(PG_CLUSTER) on 127.0.0.1:$$port for the tests ($(PG_URL_FILE))."

# A fresh demo election on every start (it replaces only the previous demo and its
# demo accounts); the credentials it prints are random each time.
DEMO_VOTERS ?= 10
DEMO_CAST ?= 3
DEMO_AUDITS ?= 2
run: install
	$(BIN)/python manage.py migrate --noinput
	SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py seed_demo --voters $(DEMO_VOTERS) --cast $(DEMO_CAST) --audits $(DEMO_AUDITS)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install system-deps node_modules/.installed postgres
	TEST_POSTGRES_URL="$${TEST_POSTGRES_URL:-$$(cat $(PG_URL_FILE))}" $(BIN)/python -m pytest

jstest: system-deps
	node --test tests/js/

test: lint typecheck pytest jstest

# The whole Python suite against a real MongoDB (a single-node replica set), e.g.
# TEST_MONGODB_URI='mongodb://localhost:27017/evoting?replicaSet=rs0' make test-mongodb
test-mongodb: install
	@test -n "$(TEST_MONGODB_URI)" || { echo "Set TEST_MONGODB_URI to a MongoDB replica set." >&2; exit 2; }
	DATABASE_URL="$(TEST_MONGODB_URI)" $(BIN)/python -m pytest -m "not sqlite_only"

# Regenerate the contrib apps' MongoDB migrations (needs no server).
mongodb-migrations: install
	DATABASE_URL=mongodb://localhost/evoting $(BIN)/python -m evoting.mongo_migrations.check --write

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache
