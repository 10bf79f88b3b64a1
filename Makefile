# SocialPay — `make run` serves the app, `make test` runs lint and the whole suite,
# `make test-fast` the suite without browser and live-worker tests.
SHELL := /bin/sh
PYTHON := $(shell scripts/find-python)
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo .data/tools/bin/uv)

# Paths whose formatting `make lint` enforces (`ruff format --check`); widen it as more of
# the code base is formatted.
FORMATTED := scripts conftest.py

.PHONY: run test test-fast lint messages backup restore bench-ledger bench-timeline bench-transfers bench-flamegraph bench-pages bench-payouts bench-ledger-growth bench-workers scale-up scale-down scale-status scale-bench bench-redis-cluster clean

$(VENV)/.synced: pyproject.toml uv.lock
	@test -n "$(PYTHON)" || { echo "Python 3.12 is required"; exit 1; }
	@if [ ! -x "$(UV)" ]; then \
		echo "• installing uv into .data/tools"; \
		mkdir -p .data && "$(PYTHON)" -m venv .data/tools && .data/tools/bin/pip install -q uv; \
	fi
	# The embedded PostgreSQL and Redis (group "embedded") are for development and tests
	# only; the production image installs neither them nor the development group.
	UV_PROJECT_ENVIRONMENT=$(VENV) "$(UV)" sync --frozen --group embedded --python "$(PYTHON)"
	@touch $@

run: $(VENV)/.synced
	$(VENV)/bin/python scripts/run.py

test: lint
	$(VENV)/bin/python scripts/test.py $(PYTEST_ARGS)

test-fast: $(VENV)/.synced
	$(VENV)/bin/python scripts/test.py -m "not browser and not celery" $(PYTEST_ARGS)

# mypy checks the packages listed under [tool.mypy] in pyproject.toml.
lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(FORMATTED)
	$(VENV)/bin/mypy

# Translations (needs GNU gettext: apt-get install gettext). Collects every marked string
# into locale/<lang>/LC_MESSAGES/django.po, then compiles django.mo; commit both.
MESSAGES_IGNORE := -i '.venv/*' -i '.data/*' -i 'static/*' -i 'staticfiles/*' \
	-i '*/tests/*' -i 'tests/*' -i 'bench/*' -i 'scripts/*'
messages: $(VENV)/.synced
	$(VENV)/bin/python manage.py makemessages -l de --add-location file $(MESSAGES_IGNORE)
	$(VENV)/bin/python manage.py compilemessages -l de -i .venv -i .data

# Backups (README, "Backups and restores"): pg_dump's custom format plus the uploads.
backup:
	scripts/backup.sh

# make restore BACKUP=.data/backups/socialpay-<time>.dump [RESTORE_DATABASE_URL=...]
restore:
	BACKUP="$(BACKUP)" scripts/restore.sh

bench-ledger: $(VENV)/.synced
	$(VENV)/bin/python bench/ledger.py $(BENCH_ARGS)

bench-timeline: $(VENV)/.synced
	$(VENV)/bin/python bench/timeline.py $(BENCH_ARGS)

bench-transfers: $(VENV)/.synced
	$(VENV)/bin/python bench/transfers.py $(BENCH_ARGS)

bench-flamegraph: $(VENV)/.synced
	$(VENV)/bin/python bench/flamegraph.py $(BENCH_ARGS)

bench-pages: $(VENV)/.synced
	$(VENV)/bin/python bench/pages.py $(BENCH_ARGS)

bench-payouts: $(VENV)/.synced
	$(VENV)/bin/python bench/payouts.py $(BENCH_ARGS)

bench-ledger-growth: $(VENV)/.synced
	$(VENV)/bin/python bench/ledger_growth.py $(BENCH_ARGS)

# Receipts, webhooks and payouts per second with 1, 2 and 4 Celery workers, each with a
# host name of its own on the split queues, and every effect checked exactly once.
# BENCH_ARGS="--netns" puts each worker in a network namespace of its own (root).
bench-workers: $(VENV)/.synced
	$(VENV)/bin/python bench/workers.py $(BENCH_ARGS)

# Past one machine (docs/scaling.md): a primary, streaming replicas, PgBouncer, a broker
# Redis and Celery workers with host names and queues of their own, under .data/scale.
# make scale-up [SCALE_ARGS="--replicas 2 --workers 3"]; it prints the app's environment.
scale-up: $(VENV)/.synced
	@command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || \
		{ echo "• installing pgbouncer"; apt-get install -y -qq pgbouncer >/dev/null; }
	$(VENV)/bin/python scripts/scale_cluster.py up $(SCALE_ARGS)

scale-down:
	$(VENV)/bin/python scripts/scale_cluster.py down

scale-status:
	$(VENV)/bin/python scripts/scale_cluster.py status

# One node against the scaled setup, side by side: transfers/s and timeline reads/s.
scale-bench: $(VENV)/.synced
	$(VENV)/bin/python bench/scale.py $(BENCH_ARGS)

# Timeline reads on one Redis against a 6-node Redis Cluster, and a master's failover
# during reads (reads attempted / answered / failed, seconds until whole again).
bench-redis-cluster: $(VENV)/.synced
	$(VENV)/bin/python bench/redis_cluster.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
