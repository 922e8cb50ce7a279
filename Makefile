# Everything runs from the virtualenv in .venv, created on first use from requirements*.txt,
# so `make run` and `make test` work on a fresh clone with only python3.11 installed.
# PostgreSQL and Redis: DATABASE_URL / REDIS_URL if set, else embedded ones (launcher/).

VENV := .venv
PY := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff
STAMP := $(VENV)/.installed
# Extra arguments, e.g. `make test ARGS="-k routing -x"`.
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run test lint format superuser bench clean

help:
	@echo "make run        web server + worker on http://localhost:$${PORT:-8000}/ (Ctrl-C stops)"
	@echo "make test       the test suite (ARGS=... goes to pytest)"
	@echo "make superuser  create a login for /admin/"
	@echo "make lint       ruff check + ruff format --check + mypy"
	@echo "make format     ruff format + ruff check --fix"
	@echo "make bench      load test against a running engine (ARGS=... goes to the bench)"
	@echo "make clean      remove .run/ (local database and Redis data) and caches"

install: $(STAMP)

# The stamp is newer than both requirement files once they are installed: editing either
# reinstalls. python3.11 is preferred (pgserver wheels stop at 3.12; Django 6 needs 3.12).
$(STAMP): requirements.txt requirements-dev.txt
	@if [ ! -x $(PY) ]; then \
		python=$$(command -v python3.11 || command -v python3) \
			|| { echo "python3.11 is required" >&2; exit 1; }; \
		echo "creating $(VENV) with $$python"; \
		$$python -m venv $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

run: $(STAMP)
	$(PY) -m launcher run

test: $(STAMP)
	$(PY) -m launcher test $(ARGS)

lint: $(STAMP)
	$(RUFF) check .
	$(RUFF) format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(RUFF) format .
	$(RUFF) check --fix .

superuser: $(STAMP)
	$(PY) -m launcher manage createsuperuser

bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf .run staticfiles .pytest_cache .ruff_cache .mypy_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
