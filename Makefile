# Two entry points: `make run` (install, migrate, start the site with a demo election)
# and `make test` (install, then lint, type-check and run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps run test lint typecheck pytest jstest test-mongodb mongodb-migrations clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Debian's chromium for the browser tests (never a browser downloaded by a test tool) and node.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium nodejs fonts-dejavu-core; \
	fi

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

pytest: install system-deps
	$(BIN)/python -m pytest

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
