import pytest


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    """Tests make many calls from one address; the links throttle is tested on its own."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({k: "100000/min" for k in ("anon", "user", "auth", "money", "links")})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
