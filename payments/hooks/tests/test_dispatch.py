"""The batch dispatcher in-process, against a real local receiver and the real database:
one endpoint's deliveries go in event id order on one connection, a failure stops that
endpoint's run and the rest waits behind it, claims never give one endpoint to two workers,
and two dispatchers running at once post every event exactly once."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from payments.hooks import services
from payments.hooks.models import Attempt, Delivery
from payments.hooks.tests.receiver import Receiver
from payments.wallets.events import event_emit
from payments.wallets.tests.support import person


def _emit(user, count: int, start: int = 0) -> None:
    with transaction.atomic():
        for n in range(start, start + count):
            event_emit("tip.received", user.pk, {"tip": n})
    services.events_dispatch()


def _tips(requests) -> list[int]:
    return [json.loads(r.body)["data"]["tip"] for r in requests]


@pytest.mark.django_db
def test_one_endpoints_deliveries_go_in_event_order_on_one_connection(receiver):
    user = person()
    services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
    _emit(user, 30)
    posted, more = services.deliveries_dispatch()
    assert (posted, more) == (30, False)
    assert _tips(receiver.requests) == list(range(30))
    assert len({r.client for r in receiver.requests}) == 1  # one keep-alive connection
    assert set(Delivery.objects.values_list("status", "attempts", "claimed_until")) == {
        ("delivered", 1, None)
    }
    # Nothing is due any more: a second run posts nothing (no event twice).
    assert services.deliveries_dispatch() == (0, False)
    assert len(receiver.requests) == 30 and Attempt.objects.count() == 30


@pytest.mark.django_db
def test_a_failure_stops_the_endpoints_run_and_the_rest_waits_behind_it(receiver, settings):
    settings.HOOKS_RETRY_BASE_SECONDS = 30
    settings.HOOKS_RETRY_MAX_SECONDS = 3600
    receiver.plan = [200, 500]
    other_receiver = Receiver().start()
    try:
        user = person()
        services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
        services.endpoint_create(user=user, url=other_receiver.url, event_types=["tip.received"])
        _emit(user, 5)
        before = timezone.now()
        posted, _more = services.deliveries_dispatch()
        # The failing endpoint: 2 posted (the second answered 500), 3 never tried; the
        # healthy one got all 5.
        assert posted == 7
        assert _tips(receiver.requests) == [0, 1]
        assert _tips(other_receiver.requests) == list(range(5))
    finally:
        other_receiver.stop()
    failing = Delivery.objects.filter(endpoint__url=receiver.url).order_by("event_id")
    rows = list(failing.values_list("status", "attempts", "claimed_until"))
    assert rows == [("delivered", 1, None), ("pending", 1, None)] + [("pending", 0, None)] * 3
    failed, *rest = list(failing)[1:]
    wait = timedelta(seconds=30)
    assert failed.next_attempt_at >= before + wait
    assert all(d.next_attempt_at >= before + wait for d in rest)
    # Not due: nothing goes out, and the next wake-up is about one backoff away.
    assert services.deliveries_dispatch() == (0, False)
    assert 25 < services.deliveries_next_wait() <= 30


@pytest.mark.django_db
def test_a_claim_never_takes_an_endpoint_another_worker_is_posting_to():
    user, someone = person(), person()
    busy = services.endpoint_create(
        user=user, url="https://93.184.216.34/a", event_types=["tip.received"]
    )
    free = services.endpoint_create(
        user=someone, url="https://93.184.216.34/b", event_types=["tip.received"]
    )
    _emit(user, 3)
    _emit(someone, 2)
    now = timezone.now()
    first = services.deliveries_claim(now=now, limit=2, per_endpoint=2)
    assert [d.endpoint_id for d in first] == [busy.pk, busy.pk]
    assert [d.event.payload["tip"] for d in first] == [0, 1]
    # The third delivery of the busy endpoint waits for the first worker; the other
    # endpoint is free.
    second = services.deliveries_claim(now=now)
    assert {d.endpoint_id for d in second} == {free.pk}
    assert services.deliveries_claim(now=now) == []
    # A claim that expired (a killed worker) frees the endpoint again.
    later = now + timedelta(seconds=settings.HOOKS_CLAIM_SECONDS + 1)
    again = services.deliveries_claim(now=later)
    assert [d.event.payload["tip"] for d in again if d.endpoint_id == busy.pk] == [0, 1, 2]


@pytest.mark.django_db
def test_a_claim_takes_whole_shares_so_other_workers_take_other_endpoints(receiver):
    # Events of three people, interleaved. A claim takes the oldest endpoint's share
    # whole before the next one's, so the next worker's claim has endpoints left to take
    # (taking the oldest events of every endpoint would make every endpoint busy).
    people = [person() for _ in range(3)]
    for user in people:
        services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
    with transaction.atomic():
        for n in range(5):
            for user in people:
                event_emit("tip.received", user.pk, {"tip": n})
    services.events_dispatch()
    now = timezone.now()

    first = services.deliveries_claim(now=now, limit=6, per_endpoint=5)
    second = services.deliveries_claim(now=now, limit=6, per_endpoint=5)

    def owners(batch):
        return [d.endpoint.user for d in batch]

    assert owners(first) == [people[0]] * 5 + [people[1]]
    assert owners(second) == [people[2]] * 5
    assert services.deliveries_claim(now=now) == []


@pytest.mark.django_db
def test_a_claims_later_shares_are_given_back_once_half_its_time_has_passed(
    receiver, monkeypatch, settings
):
    # One claim holds two endpoints' shares, posted one after the other. The second share
    # has only what is left of the claim's time: posted after the claim expired, it could
    # be claimed and posted by another worker at the same time. Given back, it is claimed
    # again, with a claim of its own.
    settings.HOOKS_CLAIM_SECONDS = 10
    clock = [1000.0]

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return clock[0]

        time = staticmethod(time.time)

    post, claim = services._post, services.deliveries_claim
    claims: list[list[int]] = []

    def slow_post(delivery, conn):  # each POST takes a second of the claim's time
        clock[0] += 1
        return post(delivery, conn)

    def counted_claim(**kwargs):
        batch = claim(**kwargs)
        claims.append([d.event.payload["tip"] for d in batch])
        return batch

    monkeypatch.setattr(services, "time", Clock)
    monkeypatch.setattr(services, "_post", slow_post)
    monkeypatch.setattr(services, "deliveries_claim", counted_claim)
    first, second = person(), person()
    for user in (first, second):
        services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
    _emit(first, 6)
    _emit(second, 3, start=100)

    assert services.deliveries_dispatch(run_seconds=60) == (9, False)

    assert claims == [[0, 1, 2, 3, 4, 5, 100, 101, 102], [100, 101, 102], []]
    assert _tips(receiver.requests) == [0, 1, 2, 3, 4, 5, 100, 101, 102]
    assert Attempt.objects.count() == 9


def test_a_dispatch_run_ends_well_inside_the_tasks_soft_time_limit():
    # The soft time limit would stop a run between a POST and its record.
    run = services.DISPATCH_RUN_SECONDS + settings.HOOKS_TIMEOUT_SECONDS
    assert run < settings.CELERY_TASK_SOFT_TIME_LIMIT


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_post_every_event_once_and_in_order_per_endpoint(
    receiver, monkeypatch
):
    # Only these two dispatchers: no wake-up reaches a Celery worker the suite may run for
    # other tests (it would deliver everything first, and this would test nothing).
    from payments.wallets import events

    monkeypatch.setattr(services, "deliveries_wake", lambda *args, **kwargs: None)
    monkeypatch.setattr(events, "_wake_dispatcher", lambda: None)
    users = [person() for _ in range(3)]
    for user in users:
        services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
    for n, user in enumerate(users):
        _emit(user, 40, start=n * 1000)
    results: list = []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(services.deliveries_dispatch())
        finally:
            connection.close()
            close_old_connections()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(posted for posted, _ in results) == 120
    deadline = time.monotonic() + 30
    while Delivery.objects.filter(status="delivered").count() < 120:
        assert time.monotonic() < deadline, "not all delivered"
        time.sleep(0.05)
    tips = _tips(receiver.requests)
    assert sorted(tips) == sorted(set(tips)) and len(tips) == 120  # each event once
    for n in range(3):
        mine = [t for t in tips if n * 1000 <= t < (n + 1) * 1000]
        assert mine == sorted(mine)  # per endpoint in event id order
    assert Delivery.objects.filter(status="delivered", attempts=1).count() == 120


def test_one_delayed_wake_up_per_second_runs_when_every_asker_is_due(monkeypatch):
    """Two retries due within the same second share one wake-up: it must not run before
    the later one is due (it would find nothing, and its own next wake-up for that second
    would be refused as a duplicate: the retry would wait for beat)."""
    from django.core.cache import cache

    from payments.hooks.tasks import deliveries_dispatch_task

    published: list[float] = []
    monkeypatch.setattr(
        deliveries_dispatch_task,
        "apply_async",
        lambda countdown=None, **kw: published.append(time.time() + (countdown or 0)),
    )
    # Start just after a second begins, so that both retries fall in the same second.
    time.sleep(1 - time.time() % 1 + 0.01)
    asked_at = time.time()
    dues = [asked_at + 0.2, asked_at + 0.7]
    for due in dues:
        services.deliveries_wake(countdown=due - time.time())
    assert len(published) == 1
    assert published[0] >= max(dues) - 0.01
    assert published[0] - max(dues) < 1.0
    cache.delete(f"hooks:dispatch-wake:{int(published[0])}")
