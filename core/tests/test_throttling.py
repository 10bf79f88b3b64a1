"""API rate limits: DRF's scopes and rates, counted in real Redis with a sliding window."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.models import User
from core.api import throttling

pytestmark = pytest.mark.django_db


class Clock:
    """The throttles' ``timer``: a test moves time instead of sleeping."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    # Start at a minute boundary far from any real key, so each test has fresh windows.
    clock = Clock(60.0 * (10**7 + uuid.uuid4().int % 10**6))
    monkeypatch.setattr(SimpleRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def rates(monkeypatch):
    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update(user="4/min", money="2/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


class Ping(APIView):
    throttle_classes = [throttling.UserRateThrottle, throttling.ScopedRateThrottle]
    throttle_scope = "money"

    def get(self, request):
        return Response({"ok": True})


class UserOnly(Ping):
    throttle_scope = None


def call(view, user):
    request = APIRequestFactory().get("/ping")
    force_authenticate(request, user=user)
    return view.as_view()(request)


@pytest.fixture
def person():
    def make():
        handle = f"t{uuid.uuid4().hex[:10]}"
        return User.objects.create_user(handle=handle, email=f"{handle}@example.com")

    return make


def test_the_limit_is_exact_within_a_window_and_refusals_say_when_to_retry(clock, rates, person):
    alice = person()
    codes = [call(UserOnly, alice).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    refused = call(UserOnly, alice)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_refused_requests_do_not_use_up_the_next_window(clock, rates, person):
    alice = person()
    for _ in range(4):
        call(UserOnly, alice)
    for _ in range(10):
        assert call(UserOnly, alice).status_code == 429
    clock.now += 60 * 2  # two windows later nothing of the past counts
    assert [call(UserOnly, alice).status_code for _ in range(4)] == [200] * 4


def test_the_window_slides_the_previous_minute_out_gradually(clock, rates, person):
    alice = person()
    for _ in range(4):
        call(UserOnly, alice)  # the previous window is full
    clock.now += 60  # the next window starts: the whole previous minute still counts
    assert call(UserOnly, alice).status_code == 429
    clock.now += 30  # half of it has slid out: 4 * 0.5 = 2 requests' worth is left
    assert [call(UserOnly, alice).status_code for _ in range(3)] == [200, 200, 429]


def test_limits_are_per_person_and_the_strictest_scope_wins(clock, rates, person):
    alice, bob = person(), person()
    assert [call(Ping, alice).status_code for _ in range(3)] == [200, 200, 429]
    assert [call(Ping, bob).status_code for _ in range(2)] == [200, 200]


def test_a_view_without_a_scope_is_only_user_limited(clock, rates, person):
    alice = person()
    assert [call(UserOnly, alice).status_code for _ in range(4)] == [200] * 4
