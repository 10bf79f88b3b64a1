"""Degrade, don't fail: the cache without Redis, task publishing without a broker, and a
503 with Retry-After (not a 500) while PostgreSQL cannot be reached."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches
from django.db import OperationalError, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.utils import translation
from prometheus_client import REGISTRY

from core import cache as resilient_cache
from core.publish import publish_on_commit
from core.redis_fallback import RedisBreaker
from socialpay import urls as site_urls
from socialpay.urls import urlpatterns as site_urlpatterns


def _degraded(component: str, dependency: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "socialpay_degraded_operations_total",
            {"component": component, "dependency": dependency},
        )
        or 0.0
    )


@pytest.fixture
def dead_cache(settings, monkeypatch):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.REDIS_RETRY_AFTER_SECONDS = 60
    monkeypatch.setattr(resilient_cache, "_breaker", RedisBreaker("cache"))
    return caches["default"]


def test_the_cache_answers_misses_while_redis_is_away(dead_cache):
    before = _degraded("cache", "redis")
    assert dead_cache.get("k") is None
    assert dead_cache.get("k", "fallback") == "fallback"
    assert dead_cache.get_many(["a", "b"]) == {}
    assert dead_cache.add("k", 1) is True  # as for an absent key (see core.cache)
    dead_cache.set("k", 1)
    dead_cache.delete("k")
    assert dead_cache.has_key("k") is False
    with pytest.raises(ValueError):
        dead_cache.incr("counter")
    assert _degraded("cache", "redis") - before == 8
    # After the first failure Redis is left alone for REDIS_RETRY_AFTER_SECONDS.
    assert resilient_cache._breaker.available() is False


def test_the_cache_works_normally_with_redis():
    cache = caches["default"]
    key = f"t-{uuid.uuid4().hex}"
    cache.set(key, {"a": 1}, 30)
    assert cache.get(key) == {"a": 1}
    assert cache.add(key, "other") is False
    assert cache.add(f"{key}-n", 1, 30) is True
    assert cache.incr(f"{key}-n") == 2
    cache.delete_many([key, f"{key}-n"])
    assert cache.get(key) is None


@pytest.mark.django_db
def test_login_page_answers_while_the_cache_is_down(dead_cache):
    # allauth counts login attempts in the cache; django-axes keeps lock-outs in PostgreSQL.
    response = Client().post("/accounts/login/", {"login": "nobody", "password": "not it"})
    assert response.status_code == 200  # the form again, with its error
    assert Client().get("/accounts/login/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_task_the_broker_cannot_take_leaves_the_commit_standing(caplog):
    from core.models import NightlyCheck

    def broker_down():
        raise ConnectionRefusedError("broker down")

    before = _degraded("publish", "broker")
    with transaction.atomic():
        NightlyCheck.objects.create(name="publish_probe", ok=True)
        publish_on_commit(broker_down, task="tests.probe")
    assert NightlyCheck.objects.filter(name="publish_probe").exists()
    assert _degraded("publish", "broker") == before + 1
    assert any("task.publish_failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_payout_and_webhook_tasks_are_published_through_the_guard(settings):
    """The real publishers: with a broker nobody listens on, enqueueing a payout submission
    and a webhook event after commit raises nothing."""
    import time

    from payments.payouts.services import payout_submit_enqueue
    from payments.webhooks import services as webhooks
    from socialpay.celery import app

    saved = (app.conf.broker_url, app._pool, app.amqp._producer_pool)
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = app.amqp._producer_pool = None
    try:
        before = _degraded("publish", "broker")
        started = time.monotonic()
        with transaction.atomic():
            webhooks._enqueue_on_commit(123456)
            publish_on_commit(
                lambda: payout_submit_enqueue(payout_id=654321), task="payouts.submit"
            )
        assert _degraded("publish", "broker") == before + 2
        # CELERY_TASK_PUBLISH_RETRY_POLICY: a request is not held for long.
        assert time.monotonic() - started < 10
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


# --- PostgreSQL unreachable ------------------------------------------------------------------


def _database_down(request):
    raise OperationalError("connection to server at 127.0.0.1 port 5432 failed")


def _other_bug(request):
    raise RuntimeError("a real bug")


urlpatterns = [
    path("db-down", _database_down),
    path("api/v1/db-down", _database_down),
    path("bug", _other_bug),
    path("fine", lambda request: HttpResponse("ok")),
    *site_urlpatterns,
]
handler500 = site_urls.handler500


@pytest.fixture
def production_errors(settings):
    settings.DEBUG = False
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = 7
    settings.ROOT_URLCONF = __name__
    yield
    translation.deactivate()  # the request's language must not outlive the test


@pytest.mark.django_db
def test_an_unreachable_database_answers_503_with_retry_after(production_errors):
    client = Client(raise_request_exception=False)
    before = REGISTRY.get_sample_value("socialpay_database_unavailable_responses_total") or 0

    page = client.get("/db-down")
    assert page.status_code == 503
    assert page["Retry-After"] == "7"
    assert "back in a moment" in page.content.decode()

    api = client.get("/api/v1/db-down")
    assert api.status_code == 503
    assert api["Retry-After"] == "7"
    assert api.json()["error"]["code"] == "service_unavailable"

    assert REGISTRY.get_sample_value("socialpay_database_unavailable_responses_total") == before + 2
    # Anything else is still a 500.
    assert client.get("/bug").status_code == 500


@pytest.mark.django_db
def test_the_503_page_is_in_the_visitors_language(production_errors):
    client = Client(raise_request_exception=False)
    page = client.get("/db-down", HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 503
    assert "SocialPay ist gleich wieder da" in page.content.decode()
