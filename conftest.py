"""Test set-up shared by every app (the test profile itself is chosen in
``socialpay.test_settings``).

- A real Celery worker (``celery_worker_process``), one per pytest-xdist worker at most;
  every test that uses it is marked ``celery`` (``make test-fast`` leaves them out).
- Tests that open many database connections at once (marker ``many_connections``) take a
  lock first, so that the pytest-xdist workers never run two of them side by side and the
  whole suite fits in a stock PostgreSQL's 100 connections.
- Transactional tests leave an empty database behind without TRUNCATE (see
  ``_empty_tables``), and a reused test database starts empty even if an earlier run was
  killed half-way.
- Whatever this process wrote to Redis (under its own prefix) is deleted at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

# Tables that migrations fill and Django's flush refills through post_migrate; emptying
# keeps them as they are, which is what a flush followed by post_migrate amounts to.
_KEPT_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


def pytest_configure(config):
    from django.test import TransactionTestCase

    TransactionTestCase._fixture_teardown = _transactional_teardown


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "celery_worker_process" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.celery)


@pytest.fixture(autouse=True)
def _no_language_left_over():
    """Each test starts in the default language: a German page fetched with the test client
    leaves German active in the thread (LocaleMiddleware activates it, nothing deactivates
    it), and code run outside a request afterwards would speak German."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _one_connection_storm_at_a_time(request):
    """A ``many_connections`` test holds this checkout's lock while it runs.

    A lock rather than an xdist group: the other workers go on with the rest of the suite,
    and a worker waits only if two such tests come up at the same moment. (Besides,
    ``--dist loadgroup`` in pytest-xdist 3.8 does not group under pytest 9.2, and folds
    schemathesis' 75 same-named items into one.)
    """
    if request.node.get_closest_marker("many_connections") is None:
        yield
        return
    import fcntl

    path = ROOT / ".data" / "test-many-connections.lock"
    path.parent.mkdir(exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


# --- Database ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, empty: with ``--reuse-db`` it may hold rows of a run that was
    killed in the middle of a transactional test."""
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            _empty_tables(connection)
            connection.close()


def _transactional_teardown(self):
    """Replaces Django's flush (TRUNCATE of every table, then post_migrate) after each
    transactional test: TRUNCATE of 68 tables costs PostgreSQL one to two seconds, emptying
    the few tables a test wrote costs milliseconds."""
    from django.db import connections

    _quiet_celery_worker()
    for alias in self._databases_names(include_mirrors=False):
        _empty_tables(connections[alias])


def _empty_tables(connection) -> None:
    """Delete every row of every table but ``_KEPT_TABLES``.

    ``session_replication_role = replica`` switches off triggers and foreign-key checks
    for this transaction only, so the ledger's append-only triggers let the rows go and the
    order of the deletes does not matter; every row of the referencing tables goes too, so
    nothing dangles. Setting it needs a superuser; anyone else gets Django's flush.
    """
    from django.core.management import call_command
    from django.db import transaction

    tables = [
        t
        for t in connection.introspection.django_table_names(only_existing=True)
        if t not in _KEPT_TABLES
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        superuser = cursor.fetchone()[0]
    if not superuser:
        call_command(
            "flush",
            verbosity=0,
            interactive=False,
            database=connection.alias,
            reset_sequences=False,
            inhibit_post_migrate=False,
        )
        return
    quote = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Table names come from the database's own catalogue, quoted.
        cursor.execute("; ".join(f"DELETE FROM {quote(t)}" for t in tables))  # noqa: S608


# --- Redis ---------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def _redis_namespace():
    """Delete every key this process wrote (all of them live under its prefix, see
    ``socialpay.test_settings``) once the session is over, Celery worker included."""
    yield
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{settings.TEST_REDIS_PREFIX}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


# --- Celery --------------------------------------------------------------------------------
_worker: dict[str, str] = {}  # the node name of this process's worker while it runs


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker process against the test database and the real Redis broker.

    Tasks it runs see only committed data, so tests that use it are transactional
    (``@pytest.mark.django_db(transaction=True)``). It consumes only this process's queue,
    and answers only this process's control messages (see ``socialpay.test_settings``).
    """
    from django.conf import settings
    from django.db import connection

    from socialpay.celery import app

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    # Tasks that earlier tests of this process queued with no worker running belong to
    # rows that are gone.
    app.control.purge()
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(settings.DATABASES["default"])
    # The tests' own webhook handler (it counts calls), loaded by the worker only through
    # this environment: the settings name no test module.
    extra = [m for m in env.get("PAYMENTS_WEBHOOK_HANDLER_MODULES", "").split(",") if m]
    env["PAYMENTS_WEBHOOK_HANDLER_MODULES"] = ",".join([*extra, "payments.webhooks.tests.probe"])
    log_path = ROOT / ".data" / f"celery-test-{settings.TEST_WORKER}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finaliser
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "socialpay",
            "worker",
            "--pool",
            "threads",
            # Two threads are enough for every test, and keep the connections it holds
            # (one per thread) inside the budget.
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    try:
        _worker["node"] = _wait_for_pong(app, proc, log_path)
    except BaseException:
        _stop(proc)
        log.close()
        raise
    connection.close()
    proc.node = _worker["node"]  # for tests that ping this worker by name
    yield proc
    _worker.clear()
    _stop(proc)
    log.close()


def _wait_for_pong(app, proc: subprocess.Popen, log_path: Path) -> str:
    # Generous: on a machine busy with the other test processes, starting Django and
    # Celery can take a minute.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Celery worker exited; see {log_path}")
        # Only this process's worker listens on its prefix, so any answer is from it.
        replies = app.control.ping(timeout=0.5)
        if replies:
            return next(iter(replies[0]))
    raise RuntimeError(f"Celery worker did not answer a ping; see {log_path}")


def _quiet_celery_worker() -> None:
    """Before a transactional test's rows are deleted: drop its queued tasks, revoke those
    the worker holds for later, and wait for the running ones, so that no task of this test
    writes into the next one."""
    node = _worker.get("node")
    if node is None:
        return
    from socialpay.celery import app

    app.control.purge()
    inspect = app.control.inspect(destination=[node], timeout=2)
    revoked: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # A revoked task stays listed until the worker reaches it; it will not run.
        waiting = {
            task.get("request", task)["id"]
            for method in (inspect.scheduled, inspect.reserved)
            for task in (method() or {}).get(node, [])
        } - revoked
        if waiting:
            app.control.revoke(list(waiting), destination=[node])
            revoked |= waiting
        elif not (inspect.active() or {}).get(node):
            return
        time.sleep(0.05)


def _parent_death_signal():
    """prctl(PR_SET_PDEATHSIG), looked up here: the child of a fork may not import."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    return None


_prctl = _parent_death_signal()


def _die_with_parent() -> None:
    """In the worker's process before it starts: receive SIGTERM when the test process
    dies, so that a killed test run leaves no worker holding database connections."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG (Linux)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _database_url(db: dict) -> str:
    from urllib.parse import quote

    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db.get('USER') or ''}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def admin_user(admin_user):
    """pytest-django's superuser, with the second factor every staff member needs to reach
    the admin (accounts.admin_site)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin_user, generate_totp_secret())
    return admin_user
