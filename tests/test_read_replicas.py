"""Read replicas with a real streaming standby (core.db_router, scripts/scale_cluster.py).

A primary and a hot standby are started for the session (pg_basebackup -R: seconds); the
test database is copied onto the primary and the ``default`` alias pointed at it, with
``replica_0`` on the standby. The router's DEBUG log says where each read went; the tests
read it:

- a timeline read goes to the replica; a transfer (its payer check, limits, ledger) reads
  only the primary, and so does the same person's next timeline read (read-your-writes);
- ledger and wallet rows stay on the primary even inside a replica scope, and so does any
  read inside a transaction;
- a standby whose replay is paused (``pg_wal_replay_pause``) falls behind, is reported by
  the lag metric and bypassed, and takes reads again once it has caught up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import pytest
from django.db import connections, transaction
from django.test import override_settings

from payments.wallets.tests.support import api, fund, generous_throttles, key, person
from tests.scale_support import (
    REPLICA,
    databases_pointed_at,
    free_port,
    replica_catch_up,
)

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])

ROUTER_LOG = "core.db_router"
AUTHENTICATING = {"accounts.User", "accounts.ApiToken"}


@pytest.fixture(scope="module", autouse=True)
def _scaled(scale_cluster, django_db_blocker):
    from django.conf import settings

    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "core.db_router.ReplicaReadsMiddleware",
    )
    with (
        django_db_blocker.unblock(),
        databases_pointed_at(scale_cluster),
        override_settings(
            DATABASE_REPLICAS=[REPLICA],
            DATABASE_ROUTERS=["core.db_router.ReplicaRouter"],
            MIDDLEWARE=middleware,
            DATABASE_REPLICA_LAG_CHECK_SECONDS=0,
            DATABASE_REPLICA_MAX_LAG_SECONDS=1.0,
        ),
    ):
        yield


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    from core.db_router import replica_lag_forget

    generous_throttles(monkeypatch)
    replica_lag_forget()


@pytest.fixture
def routing(caplog):
    """The router's decisions while the test runs: (model, alias, reason) triples."""
    caplog.set_level(logging.DEBUG, logger=ROUTER_LOG)

    def decisions() -> list[tuple[str, str, str]]:
        return [
            (r.db_model, r.db_alias, r.db_reason)
            for r in caplog.records
            if r.name == ROUTER_LOG and hasattr(r, "db_alias")
        ]

    decisions.clear = caplog.clear  # type: ignore[attr-defined]
    return decisions


@contextlib.contextmanager
def replica_queries() -> Iterator[list[str]]:
    """The SQL that ran on the replica's connection inside the block."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connections[REPLICA].execute_wrapper(record):
        yield seen


def caught_up(scale_cluster) -> None:
    replica_catch_up(scale_cluster)


def test_timeline_reads_the_replica_and_a_transfer_never_does(scale_cluster, routing):
    alice, bob = person(), person()
    fund(alice, 5000)
    from accounts.services import follow_create
    from posts.services import post_create

    post_create(author=alice, text="hello from the primary")
    follow_create(follower=bob, followee=alice)
    caught_up(scale_cluster)
    alice_api, bob_api = api(alice), api(bob)

    routing.clear()
    with replica_queries() as on_replica:
        res = bob_api.get(f"/api/v1/users/{alice.handle}/posts")
    assert any("posts_post" in sql for sql in on_replica), on_replica
    assert res.status_code == 200, res.content
    assert [p["text"] for p in res.json()["data"]] == ["hello from the primary"]
    assert ("posts.Post", REPLICA, "replica") in routing()
    # The person who authenticates is read from the primary: a new token works at once.
    assert all(alias == "default" for model, alias, _ in routing() if model in AUTHENTICATING), (
        routing()
    )

    routing.clear()
    with replica_queries() as on_replica:
        res = alice_api.post(
            "/api/v1/transfers",
            {"to": bob.handle, "amount": 2000, "currency": "USD"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key(),
        )
    assert res.status_code == 201, res.content
    assert routing(), "the router logged nothing: the assertion below would prove nothing"
    assert [d for d in routing() if d[1] != "default"] == []
    # Every row the transfer read or locked came from the primary, outside any replica
    # scope; and not one statement ran on the replica's connection.
    assert {reason for _, _, reason in routing()} <= {"no_replica_scope", "write"}
    assert any(model.startswith("wallets.") for model, _, _ in routing()), routing()
    assert on_replica == []

    # Alice just wrote: her timeline comes from the primary for a few seconds, and shows it.
    routing.clear()
    res = alice_api.get("/api/v1/timeline")
    assert res.status_code == 200
    assert all(alias == "default" for _, alias, _ in routing()), routing()
    assert any(reason == "recent_write" for _, _, reason in routing())

    # Bob did not: his timeline (he follows Alice) is read from the replica, the page's ids
    # (raw SQL, routed by the selector) and its rows alike.
    routing.clear()
    with replica_queries() as on_replica:
        res = bob_api.get("/api/v1/timeline")
    assert res.status_code == 200
    assert [p["text"] for p in res.json()["data"]] == ["hello from the primary"]
    assert any("unnest" in sql for sql in on_replica), on_replica
    assert any(alias == REPLICA for _, alias, _ in routing()), routing()


def test_money_rows_and_transactions_stay_on_the_primary(scale_cluster, routing):
    from core.db_router import replica_reads
    from ledger.models import Account, Entry
    from payments.wallets.models import Transfer
    from posts.models import Post

    alice = person()
    fund(alice, 1000)
    caught_up(scale_cluster)
    routing.clear()
    with replica_reads():
        list(Post.objects.all()[:1])
        list(Entry.objects.all()[:1])
        list(Account.objects.all()[:1])
        list(Transfer.objects.all()[:1])
        with transaction.atomic():
            list(Post.objects.all()[:1])
    assert routing() == [
        ("posts.Post", REPLICA, "replica"),
        ("ledger.Entry", "default", "primary_only_model"),
        ("ledger.Account", "default", "primary_only_model"),
        ("wallets.Transfer", "default", "primary_only_model"),
        ("posts.Post", "default", "in_transaction"),
    ]


def test_a_lagging_replica_is_bypassed_and_reported(scale_cluster, routing):
    from core.db_router import replica_lag_forget, replica_lag_measure, replica_metrics
    from posts.services import post_create

    reader, author = person(), person()
    post_create(author=author, text="before the pause")
    caught_up(scale_cluster)
    reader_api = api(reader)
    replica_port = scale_cluster.replica_ports[0]
    scale_cluster.sql(replica_port, "SELECT pg_wal_replay_pause()")
    try:
        post_create(author=author, text="while the replica is paused")
        # The standby receives the WAL but does not replay it: its lag grows past 1 s.
        deadline = time.monotonic() + 30
        while replica_lag_measure(REPLICA).seconds <= 1.0:
            assert time.monotonic() < deadline, "the paused replica never fell behind"
            time.sleep(0.2)
        lag = {
            family.name: {s.labels["replica"]: s.value for s in family.samples}
            for family in replica_metrics()
        }
        assert lag["socialpay_db_replica_lag_seconds"][REPLICA] > 1.0
        assert lag["socialpay_db_replica_lag_bytes"][REPLICA] > 0
        assert lag["socialpay_db_replica_usable"][REPLICA] == 0

        replica_lag_forget()
        routing.clear()
        res = reader_api.get(f"/api/v1/users/{author.handle}/posts")
        assert res.status_code == 200
        # Read from the primary: the newest post is there although the replica lacks it.
        texts = [p["text"] for p in res.json()["data"]]
        assert texts == ["while the replica is paused", "before the pause"]
        assert ("posts.Post", "default", "replica_lagging") in routing()
        assert all(alias == "default" for _, alias, _ in routing()), routing()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM posts_post WHERE author_id = %s", [author.pk])
            assert cursor.fetchone()[0] == 1  # the replica really is behind
    finally:
        scale_cluster.sql(replica_port, "SELECT pg_wal_replay_resume()")

    caught_up(scale_cluster)
    replica_lag_forget()
    routing.clear()
    res = reader_api.get(f"/api/v1/users/{author.handle}/posts")
    assert len(res.json()["data"]) == 2
    assert ("posts.Post", REPLICA, "replica") in routing()


def test_an_unreachable_replica_is_bypassed(scale_cluster, routing):
    from core.db_router import replica_lag_forget
    from posts.services import post_create

    reader, author = person(), person()
    post_create(author=author, text="one")
    replica = dict(connections.settings[REPLICA])
    connections[REPLICA].close()
    connections[REPLICA].settings_dict["PORT"] = free_port()  # nothing listens there
    try:
        replica_lag_forget()
        routing.clear()
        res = api(reader).get(f"/api/v1/users/{author.handle}/posts")
        assert res.status_code == 200
        assert ("posts.Post", "default", "replica_lagging") in routing()
    finally:
        connections[REPLICA].close()
        connections[REPLICA].settings_dict.update(replica)
