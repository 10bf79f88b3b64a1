"""core.postgresql: Django's PostgreSQL backend with the health check at most once per
interval. Each test drives a connection of its own through Django's request boundaries
(``close_if_unusable_or_obsolete``, called on request_started and request_finished) on the
real PostgreSQL, and counts the health checks it sends."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError, connection, connections

from core.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def wrapper(monkeypatch):
    """A connection configured as production's (persistent, health checks on), whose
    ``is_usable`` calls (the ``SELECT 1`` check) are counted in ``wrapper.checks``."""

    def make(interval: float) -> DatabaseWrapper:
        params = {
            **connections["default"].settings_dict,
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "HEALTH_CHECK_INTERVAL_SECONDS": interval,
        }
        # A second connection under the default alias: django.contrib.postgres looks its
        # type ids up by alias when a connection opens.
        made = DatabaseWrapper(params, alias="default")
        made.checks = 0
        usable = made.is_usable

        def counted() -> bool:
            made.checks += 1
            return usable()

        monkeypatch.setattr(made, "is_usable", counted)
        opened.append(made)
        return made

    opened: list[DatabaseWrapper] = []
    yield make
    for made in opened:
        made.close()


def request(db: DatabaseWrapper) -> int:
    """One request's use of the connection, between Django's two request boundaries;
    returns the backend's process id."""
    db.close_if_unusable_or_obsolete()
    with db.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    db.close_if_unusable_or_obsolete()
    return pid


def backend_terminate(pid: int) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    # pg_terminate_backend only signals: wait until the backend is gone. Inside a
    # transaction PostgreSQL keeps serving the first snapshot of pg_stat_activity it took
    # (stats_fetch_consistency), so each look drops it first: without that, a backend still
    # alive at the first look stays "alive" until the test's transaction ends.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_stat_clear_snapshot()")
            cur.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cur.fetchone() is None:
                return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} did not exit")


def test_the_app_uses_this_backend():
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connections["default"].vendor == "postgresql"


def test_requests_within_the_interval_send_no_health_check(wrapper):
    db = wrapper(interval=60)

    pids = {request(db) for _ in range(5)}

    assert len(pids) == 1, "the connection was kept"
    assert db.checks == 0  # just opened, then used within the interval


def test_a_connection_idle_past_the_interval_is_checked_once_more(wrapper):
    db = wrapper(interval=60)
    first = request(db)
    db._verified_at -= 61

    assert request(db) == first
    assert db.checks == 1
    # Checked again just now: the next requests need no check.
    request(db)
    assert db.checks == 1


def test_interval_zero_checks_before_every_request_as_django_does(wrapper):
    db = wrapper(interval=0)
    request(db)  # opens the connection, which needs no check

    for _ in range(3):
        request(db)

    assert db.checks == 3


def test_a_broken_connection_past_the_interval_is_replaced_before_the_request(wrapper):
    db = wrapper(interval=60)
    first = request(db)
    backend_terminate(first)
    db._verified_at -= 61

    second = request(db)  # no error: the check found it broken and a new one was opened

    assert second != first
    assert db.checks == 1


def test_a_broken_connection_within_the_interval_fails_one_request_then_is_replaced(wrapper):
    # The price of the interval: the request's first statement finds the break (the app
    # answers it 503, core.views), and the end of that request closes the connection.
    db = wrapper(interval=60)
    first = request(db)
    backend_terminate(first)

    db.close_if_unusable_or_obsolete()
    with pytest.raises(OperationalError), db.cursor() as cur:
        cur.execute("SELECT 1")
    db.close_if_unusable_or_obsolete()
    assert db.connection is None

    assert request(db) != first
