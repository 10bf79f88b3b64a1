# SocialPay — `make run` serves the app, `make test` runs the whole suite.
SHELL := /bin/sh
PYTHON := $(shell scripts/find-python)
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo .data/tools/bin/uv)

.PHONY: run test lint bench-ledger bench-timeline bench-transfers bench-pages clean

$(VENV)/.synced: pyproject.toml uv.lock
	@test -n "$(PYTHON)" || { echo "Python 3.12 is required"; exit 1; }
	@if [ ! -x "$(UV)" ]; then \
		echo "• installing uv into .data/tools"; \
		mkdir -p .data && "$(PYTHON)" -m venv .data/tools && .data/tools/bin/pip install -q uv; \
	fi
	UV_PROJECT_ENVIRONMENT=$(VENV) "$(UV)" sync --frozen --python "$(PYTHON)"
	@touch $@

run: $(VENV)/.synced
	$(VENV)/bin/python scripts/run.py

test: $(VENV)/.synced
	$(VENV)/bin/python scripts/test.py $(PYTEST_ARGS)

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .

bench-ledger: $(VENV)/.synced
	$(VENV)/bin/python bench/ledger.py $(BENCH_ARGS)

bench-timeline: $(VENV)/.synced
	$(VENV)/bin/python bench/timeline.py $(BENCH_ARGS)

bench-transfers: $(VENV)/.synced
	$(VENV)/bin/python bench/transfers.py $(BENCH_ARGS)

bench-pages: $(VENV)/.synced
	$(VENV)/bin/python bench/pages.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
