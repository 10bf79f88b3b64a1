"""The client's address: REMOTE_ADDR unless a trusted proxy is configured, then the
address that proxy saw; a header a client writes is never believed on its own."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from core.client_ip import client_ip


def request(remote="192.0.2.10", xff=None):
    extra = {"REMOTE_ADDR": remote}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


def test_by_default_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = 0, []
    assert client_ip(request(xff="203.0.113.9")) == "192.0.2.10"
    assert client_ip(request(xff="garbage")) == "192.0.2.10"


@pytest.mark.parametrize(
    ("count", "xff", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client's own claim is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "192.0.2.10"),  # shorter than the proxy chain: not trusted
        (1, "not-an-address", "192.0.2.10"),
        (1, "", "192.0.2.10"),
        (1, "[2001:db8::7]:443", "2001:db8::7"),
        (1, "203.0.113.9:5000", "203.0.113.9"),
        (1, ",".join(["1.1.1.1"] * 40), "192.0.2.10"),  # a limit on everything
    ],
)
def test_a_proxy_count(settings, count, xff, expected):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = count, []
    assert client_ip(request(xff=xff)) == expected


@pytest.mark.parametrize(
    ("remote", "xff", "expected"),
    [
        ("10.0.0.5", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two hops of ours
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # not through our proxy
        ("10.0.0.5", "10.0.0.8", "10.0.0.8"),  # only our own hops: the leftmost
        ("10.0.0.5", "bogus, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, bogus", "10.0.0.5"),
    ],
)
def test_trusted_networks(settings, remote, xff, expected):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_CIDRS = 0, ["10.0.0.0/8"]
    assert client_ip(request(remote=remote, xff=xff)) == expected
