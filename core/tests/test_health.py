"""/healthz against the real PostgreSQL, Redis and a real Celery worker."""

from __future__ import annotations

import pytest
from celery import Celery
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper

from core import health


@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_when_database_redis_and_a_worker_are_up(client, celery_worker_process):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "redis", "celery"}
    assert all(c["ok"] for c in body["components"].values())
    assert "worker(s) answered" in body["components"]["celery"]["detail"]
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_component_when_redis_is_down(client, settings):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    components = response.json()["components"]
    assert components["redis"] == {"ok": False, "detail": "ConnectionError"}
    assert components["database"]["ok"] is True


@pytest.mark.django_db
def test_database_check_reports_a_server_that_refuses_connections():
    params = {**connections["default"].settings_dict, "HOST": "127.0.0.1", "PORT": "1"}
    wrapper = DatabaseWrapper(params, alias="unreachable")
    try:
        ok, detail = health.check_database(wrapper)
    finally:
        wrapper.close()
    assert ok is False
    assert detail == "OperationalError"


def test_celery_check_fails_when_no_worker_listens(settings):
    # The test run's own broker, under a key prefix (broadcast channels included) that no
    # worker listens on, so that the ping gets no reply whatever else runs on this Redis.
    lonely = Celery("lonely", broker=settings.REDIS_URL, set_as_current=False)
    lonely.conf.broker_transport_options = {
        "global_keyprefix": f"{settings.TEST_REDIS_PREFIX}:lonely:"
    }
    ok, detail = health.check_celery(lonely)
    assert ok is False
    assert detail == "no worker answered"


def test_celery_check_fails_when_the_broker_is_down():
    dead = Celery("dead", broker="redis://127.0.0.1:1/0", set_as_current=False)
    dead.conf.broker_connection_retry = False
    dead.conf.broker_connection_max_retries = 0
    ok, _detail = health.check_celery(dead)
    assert ok is False


@pytest.mark.django_db
def test_healthz_rejects_other_methods(client):
    assert client.post("/healthz").status_code == 405
