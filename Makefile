# The two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test drills install lint typecheck messages bundle

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## Install, migrate, load the protocol and text library and demo data, serve on 127.0.0.1:8000.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## The whole test suite (browser tests skip locally when no Chromium is found; CI installs it).
## In parallel, one worker per CPU (TEST_JOBS=0 runs in one process); a file's tests share a worker.
TEST_JOBS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS)

## Fault drills (kill the server, restart Redis and PostgreSQL, go offline...) on real server processes.
## Needs PostgreSQL and Redis: DATABASE_URL=postgres://... REDIS_URL=redis://... make drills
drills: install
	@case "$$DATABASE_URL" in postgres*) ;; *) echo "make drills needs DATABASE_URL=postgres://... (PostgreSQL)" >&2; exit 1;; esac
	@test -n "$$REDIS_URL" || { echo "make drills needs REDIS_URL=redis://... (Redis)" >&2; exit 1; }
	$(BIN)/python -m pytest -m drill tests/test_drills.py -v -s

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

## Refresh and compile translations after changing user-facing strings (needs gettext).
messages: install
	$(BIN)/python manage.py makemessages -l he --ignore=.venv --ignore=node_modules --ignore=staticfiles
	$(BIN)/python manage.py makemessages -d djangojs -l he --ignore=.venv --ignore=node_modules --ignore=staticfiles
	$(BIN)/python manage.py compilemessages --ignore=.venv
