"""Every time in an API answer is RFC 3339 in UTC with ``Z`` (``core.api.timestamps``):
from serializers and from hand-built dicts alike, whatever time zone is active, and the same
on an idempotent replay."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from core.api.renderers import OrjsonRenderer
from core.api.timestamps import rfc3339

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# Anything that looks like a date and a time, with or without an offset.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def test_rfc3339_is_utc_with_z_from_any_zone():
    berlin = datetime(2026, 12, 1, 10, 30, 0, 123456, tzinfo=BERLIN)
    assert rfc3339(berlin) == "2026-12-01T09:30:00.123456Z"
    assert rfc3339(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)) == "2026-12-01T09:30:00Z"
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 12, 1, 9, 30))


def test_the_renderer_writes_every_datetime_in_utc_with_z():
    when = datetime(2026, 7, 1, 14, 0, tzinfo=BERLIN)  # summer: +02:00
    body = OrjsonRenderer().render({"at": when, "list": [when], "nested": {"at": when}})
    assert body == (
        b'{"at":"2026-07-01T12:00:00Z","list":["2026-07-01T12:00:00Z"],'
        b'"nested":{"at":"2026-07-01T12:00:00Z"}}'
    )
    indented = OrjsonRenderer().render({"at": when}, "application/json; indent=2")
    assert b'"2026-07-01T12:00:00Z"' in indented


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.django_db
def test_answers_carry_z_timestamps_under_another_active_time_zone():
    from payments.wallets.tests.support import api, fund, key, person
    from posts import services as post_services

    alice, bob = person(), person()
    fund(alice, 10_000)
    post_services.post_create(author=alice, text="hello")
    client = api(alice)
    with timezone.override(BERLIN):
        idem = key()
        body = {"to": bob.handle, "amount": 500, "currency": "USD"}
        sent = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=idem)
        assert sent.status_code == 201, sent.content
        replay = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=idem)
        assert replay.json() == sent.json()
        bodies = [sent.json()]
        for path in (
            f"/api/v1/transfers/{sent.json()['id']}",
            "/api/v1/wallet/statement?currency=USD",
            "/api/v1/payments/feed",
            "/api/v1/limits",
            "/api/v1/me",
            "/api/v1/posts",
            "/api/v1/auth/tokens",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            bodies.append(response.json())
    times = [s for b in bodies for s in _strings(b) if TIMESTAMP.match(s)]
    assert len(times) >= 8
    assert [t for t in times if not RFC3339_Z.match(t)] == []
