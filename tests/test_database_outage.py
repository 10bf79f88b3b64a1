"""PostgreSQL goes away under load and comes back: while it is away, pages and the API
answer 503 with Retry-After (never 500) and /livez still answers; when it is back, the
same processes serve again, without a restart; no acknowledged transfer is lost.

The app reaches PostgreSQL through a TCP proxy of this test's own: stopping the proxy
refuses new connections and cuts the open ones, which is what the app sees of a database
restart, without restarting the PostgreSQL server that other test runs share.
"""

from __future__ import annotations

import http.client
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings

from accounts.services import token_create
from conftest import _database_url
from ledger.selectors import ledger_verify
from payments.wallets.models import Transfer
from payments.wallets.tests.support import fund, person
from tests.outage_support import (
    Load,
    RedisServer,
    TcpProxy,
    app_env,
    free_port,
    running,
    wait_until,
    web,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_tasks_from_this_process(monkeypatch):
    from payments.processors.sandbox import engine

    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)


def _status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_postgresql_goes_away_503_with_retry_after_then_recovers_without_restart(tmp_path):
    people = [person() for _ in range(4)]
    for someone in people:
        fund(someone, 100_000)
    tokens = {p.handle: token_create(user=p)[1] for p in people}
    db = settings.DATABASES["default"]
    proxy = TcpProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    proxy.start()
    redis = RedisServer(tmp_path)
    redis.start()
    env = app_env(
        database_url=_database_url({**db, "HOST": "127.0.0.1", "PORT": str(proxy.port)}),
        redis_url=redis.url,
        queue=f"outage-{uuid.uuid4().hex[:8]}",
        tmp=tmp_path,
    )
    port = free_port()
    try:
        with running(web(env, port, tmp_path / "web.log")) as [gunicorn]:
            load = Load(port=port, tokens=tokens, clients=3)
            load.start()
            time.sleep(4)
            proxy.stop()
            down_from = time.monotonic()
            time.sleep(6)
            # The process itself is alive (a restart would not help) but not ready.
            assert _status(port, "/livez") == 200
            assert _status(port, "/readyz") == 503
            down_until = time.monotonic()
            proxy.start()
            # Recovers by itself: the same gunicorn serves again.
            wait_until(lambda: _status(port, "/readyz") == 200, timeout=30, what="recovery")
            back_at = time.monotonic()
            time.sleep(4)
            load.stop()
            assert gunicorn.poll() is None
    finally:
        proxy.stop()
        redis.kill()

    assert load.errors == []
    statuses = {a.status for a in load.answers}
    assert statuses <= {200, 201, 503}, statuses
    unavailable = [a for a in load.answers if a.status == 503]
    assert unavailable, "nothing was answered while PostgreSQL was away"
    assert all(down_from - 1 <= a.at <= back_at + 1 for a in unavailable)
    assert all(a.headers.get("Retry-After") == "10" for a in unavailable)
    api_503 = [a for a in unavailable if a.path.startswith("/api/")]
    assert api_503 and all(a.body["error"]["code"] == "service_unavailable" for a in api_503)
    during = [a for a in load.answers if down_from + 1 < a.at < down_until]
    assert during and {a.status for a in during} == {503}
    after = [a for a in load.answers if a.at > back_at + 1]
    assert after and {a.status for a in after} <= {200, 201}
    # Every acknowledged transfer is in the database; a 503 may hide one that committed
    # just before its connection was cut (the client retries with its Idempotency-Key).
    paid = {a.body["id"] for a in load.answers if a.method == "POST" and a.status == 201}
    stored = set(Transfer.objects.values_list("id", flat=True))
    assert paid <= stored
    assert len(stored - paid) <= len([a for a in api_503 if a.method == "POST"])
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok
