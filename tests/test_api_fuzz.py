"""Property-based fuzzing of the whole REST API from its own OpenAPI schema (schemathesis).

Every generated request — valid or not — must get an answer below 500: bad input is a 4xx
with a stable code, never a crash. Runs in-process through the WSGI app against the real
test database, signed in with a funded user's Bearer token. Derandomised, so a failure
replays.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from socialpay.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes database connections at the end of each request, which
    would end the test's transaction; Django's own test client unhooks this the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db, keep_test_connection):
    from accounts.models import ApiToken, User

    user = User.objects.filter(handle_key="fuzzer").first() or User.objects.create_user(
        handle="fuzzer", email="fuzzer@example.com", password="fuzz-password-123"
    )
    secret = ApiToken.new_secret()
    ApiToken.objects.create(user=user, digest=ApiToken.digest_of(secret), prefix=secret[:8])
    return f"Bearer {secret}"


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_api_answer_5xx(case, bearer):
    response = case.call(headers={"Authorization": bearer})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}: "
        f"{response.text[:500]}"
    )
