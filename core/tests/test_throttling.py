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


# --- without Redis ------------------------------------------------------------------------


@pytest.fixture
def redis_down(monkeypatch, settings):
    """The limiter's Redis is a port nobody listens on; a fresh breaker for the test."""
    import redis

    from core.redis_fallback import RedisBreaker

    settings.REDIS_RETRY_AFTER_SECONDS = 60
    monkeypatch.setattr(throttling, "_client", redis.Redis(port=1, socket_connect_timeout=1))
    monkeypatch.setattr(throttling, "_breaker", RedisBreaker("ratelimit"))
    monkeypatch.setattr(throttling, "_local", throttling._LocalCounters())


def _degraded(component: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "socialpay_degraded_operations_total", {"component": component, "dependency": "redis"}
    )
    return value or 0.0


def test_without_redis_requests_are_answered_and_limits_hold_per_process(
    clock, rates, person, redis_down, caplog
):
    alice, bob = person(), person()
    before = _degraded("ratelimit")
    assert [call(UserOnly, alice).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert [call(Ping, bob).status_code for _ in range(3)] == [200, 200, 429]
    # Every request was counted without Redis (two throttles each for Ping).
    assert _degraded("ratelimit") - before == 5 + 3 * 2
    # One log line when Redis went away, not one per request.
    assert [r for r in caplog.records if "redis.unavailable" in r.getMessage()] != []
    assert throttling._breaker.available() is False


@pytest.mark.parametrize(
    "broken", [OSError(9, "Bad file descriptor"), ValueError("I/O operation on closed file.")]
)
def test_a_socket_that_breaks_under_the_count_is_counted_locally_not_a_500(
    clock, rates, person, monkeypatch, broken
):
    """redis-py lets a socket closed while it was being opened escape as a bare OSError or
    ValueError (seen with fifty requests opening their first connections at once): the
    request is answered and counted in the process, as when Redis is down."""
    from core.redis_fallback import RedisBreaker

    class BrokenClient:
        """Every command (the counting script, a pipeline) fails as that socket does."""

        def __getattr__(self, name):
            def command(*args, **kwargs):
                raise broken

            return command

    monkeypatch.setattr(throttling, "_client", BrokenClient())
    monkeypatch.setattr(throttling, "_breaker", RedisBreaker("ratelimit"))
    monkeypatch.setattr(throttling, "_local", throttling._LocalCounters())
    alice = person()
    before = _degraded("ratelimit")
    assert call(UserOnly, alice).status_code == 200
    assert _degraded("ratelimit") - before == 1


def test_the_local_fallback_slides_and_forgets_old_windows(clock, rates, person, redis_down):
    alice = person()
    for _ in range(4):
        call(UserOnly, alice)
    clock.now += 60 * 2
    assert [call(UserOnly, alice).status_code for _ in range(5)] == [200] * 4 + [429]
    assert all(window >= throttling._local._newest - 1 for _, window in throttling._local._counts)


def test_login_stays_rate_limited_without_redis(redis_down, rates, monkeypatch, clock):
    from rest_framework.test import APIClient

    rates_now = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates_now.update(auth="2/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates_now)
    api = APIClient(REMOTE_ADDR=f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    wrong = {"login": "nobody", "password": "wrong password"}
    codes = [api.post("/api/v1/auth/token", wrong).status_code for _ in range(3)]
    # Two wrong passwords are refused as such, the third attempt by the limiter.
    assert codes[0] in {400, 401} and codes[1] in {400, 401}
    assert codes[2] == 429


def test_redis_comes_back_and_counting_returns_to_it(clock, rates, person, redis_down, settings):
    import redis

    alice = person()
    call(UserOnly, alice)
    assert throttling._breaker.available() is False
    settings.REDIS_RETRY_AFTER_SECONDS = 0
    throttling._breaker._retry_at = 0.0
    throttling._client = redis.Redis.from_url(settings.REDIS_URL)
    before = _degraded("ratelimit")
    assert call(UserOnly, alice).status_code == 200
    assert _degraded("ratelimit") == before
    assert throttling._breaker._down is False


def test_a_view_s_limits_are_counted_in_one_round_trip(clock, rates, person, monkeypatch):
    trips = []
    count = throttling.SlidingWindowMixin._count_in_redis

    def counted(self, windows, durations):
        trips.append(sorted(windows))
        return count(self, windows, durations)

    monkeypatch.setattr(throttling.SlidingWindowMixin, "_count_in_redis", counted)
    alice = person()
    assert [call(Ping, alice).status_code for _ in range(3)] == [200, 200, 429]
    # The per-person limit and the money scope, together, once per request.
    assert len(trips) == 3
    assert all(len(keys) == 2 for keys in trips)
    assert any("throttle_money_" in key for key in trips[0])
    assert any("throttle_user_" in key for key in trips[0])
    # Only the limit that refused takes the request back out: as with one trip per limit,
    # the per-person limit (4/min) counted all three and has one request left.
    assert [call(UserOnly, alice).status_code for _ in range(2)] == [200, 429]


def test_the_counting_script_is_loaded_again_after_redis_forgets_it(clock, rates, person):
    """A Redis restart (or SCRIPT FLUSH) drops the loaded script: the next count loads it
    again and still counts in Redis, not in the process."""
    client = throttling._redis()
    alice = person()
    assert call(UserOnly, alice).status_code == 200
    client.script_flush()
    assert client.script_exists(throttling._COUNT_SHA) == [False]
    before = _degraded("ratelimit")
    assert [call(UserOnly, alice).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _degraded("ratelimit") == before
    assert client.script_exists(throttling._COUNT_SHA) == [True]
    current = throttling.limit_key("rate", f"throttle_user_{alice.pk}")
    # Four allowed, the refusal taken back out.
    assert client.get(throttling.window_key(current, int(clock.now // 60))) == b"4"


def test_one_script_call_counts_every_limit_and_reads_the_previous_windows(clock, rates, person):
    """The script's replies are (this window, previous window) per limit, in order: a
    minute later the previous counts come back for both limits."""
    alice = person()
    limits = [
        throttling.limit_key("rate", f"throttle_user_{alice.pk}"),
        throttling.limit_key("rate", f"throttle_money_{alice.pk}"),
    ]
    assert [call(Ping, alice).status_code for _ in range(2)] == [200, 200]
    window = int(clock.now // 60)
    counts = throttling._count_scripted(
        throttling._redis(),
        {key: window + 1 for key in limits},
        {key: 60 for key in limits},
    )
    assert counts == [(1, 2), (1, 2)]
    for key in limits:
        assert 60 < throttling._redis().ttl(throttling.window_key(key, window + 1)) <= 120
