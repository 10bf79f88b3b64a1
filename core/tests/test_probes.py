"""/livez, /readyz and the container probes (manage.py probe web|worker|beat), against the
real PostgreSQL, Redis and a real Celery worker."""

from __future__ import annotations

import threading
from datetime import timedelta
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.wsgi import get_wsgi_application
from django.utils import timezone

from core import health
from core.beat import BEAT_LAST_KEY, HeartbeatScheduler


@pytest.mark.django_db
def test_livez_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_checks_database_and_broker_but_asks_no_worker(client, monkeypatch):
    def no_celery_ping(*args, **kwargs):
        raise AssertionError("readyz must not ping Celery workers")

    monkeypatch.setattr(health, "check_celery", no_celery_ping)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["components"]) == {"database", "broker"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["components"]["broker"] == {"ok": False, "detail": "ConnectionError"}
    assert response.json()["components"]["database"]["ok"] is True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def live_wsgi(transactional_db):
    """The Django app on a real socket (the probe speaks HTTP to it)."""
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_web_probe_sends_a_host_from_allowed_hosts(live_wsgi, settings, capsys):
    # 127.0.0.1 is not an allowed host: a plain request to it would be refused with 400.
    settings.ALLOWED_HOSTS = [".pay.example.com"]
    call_command("probe", "web", "--port", str(live_wsgi))
    assert "web: ok: /readyz answered 200" in capsys.readouterr().out


def test_web_probe_fails_when_nothing_listens():
    with pytest.raises(CommandError):
        call_command("probe", "web", "--port", "1", "--timeout", "1")


@pytest.mark.django_db(transaction=True)
def test_worker_probe_pings_its_own_node_only(celery_worker_process, capsys):
    call_command("probe", "worker", "--node", celery_worker_process.node)
    assert f"{celery_worker_process.node} answered" in capsys.readouterr().out
    # Another node name is not answered by this worker, though a worker runs.
    with pytest.raises(CommandError):
        call_command("probe", "worker", "--node", "celery@no-such-host", "--timeout", "1")


def test_beat_scheduler_writes_beat_last_and_the_probe_reads_it(capsys, tmp_path):
    from socialpay.celery import app

    cache.delete(BEAT_LAST_KEY)
    with pytest.raises(CommandError):
        call_command("probe", "beat")
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"))
    try:
        assert scheduler.tick() <= 15
    finally:
        scheduler.close()
    assert cache.get(BEAT_LAST_KEY)
    call_command("probe", "beat")
    assert "beat: ok" in capsys.readouterr().out


def test_beat_probe_fails_when_beat_last_is_stale(settings):
    settings.BEAT_PROBE_MAX_AGE_SECONDS = 60
    cache.set(BEAT_LAST_KEY, (timezone.now() - timedelta(minutes=5)).isoformat())
    ok, detail = health.beat_freshness(60)
    assert ok is False
    assert "300 s old" in detail
    with pytest.raises(CommandError):
        call_command("probe", "beat")
