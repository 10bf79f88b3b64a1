"""Fixtures for accounts and posts tests: people made through the sign-up service."""

from __future__ import annotations

import itertools
import uuid

import pytest
from rest_framework.test import APIClient

from accounts.services import token_create, user_signup

_counter = itertools.count(1)
# Per-run suffix: allauth's rate limits live in the shared cache and outlast a test run.
_RUN = uuid.uuid4().hex[:6]
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    """API tests make many calls from one address; the throttle itself is tested apart."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({"anon": "100000/min", "user": "100000/min", "auth": "100000/min"})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def make_user(db):
    def make(handle: str | None = None, **kwargs):
        handle = handle or f"u{next(_counter)}x{_RUN}"
        return user_signup(
            handle=handle,
            email=kwargs.pop("email", f"{handle}@example.com"),
            password=kwargs.pop("password", PASSWORD),
            **kwargs,
        )

    return make


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        _, secret = token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make
