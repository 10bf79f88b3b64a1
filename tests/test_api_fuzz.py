"""Property-based fuzzing of the whole REST API from its own OpenAPI schema (schemathesis).

Every generated request — valid or not — must get an answer below 500: bad input is a 4xx
with a stable code, never a crash. Runs in-process through the WSGI app against the real
test database, signed in with a funded user's Bearer token. Derandomised, so a failure
replays.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

# Django's handler itself, not socialpay.wsgi's module: importing that one also tunes the
# importing process's garbage collector (core.gc_tuning), which every test process would
# then inherit from collecting this file.
application = get_wsgi_application()
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


# The typed operations: their answers must match the schema (status code, content type and
# body), not only stay below 500. Valid Idempotency-Keys come from the declared pattern;
# the user has money, so transfers and request payments also succeed, not only fail.
TYPED = (
    "wallet_get",
    "wallet_statement",
    "transfers_create",
    "transfers_get",
    "topups_get",
    "requests_list",
    "requests_create",
    "requests_get",
    "requests_pay",
    "requests_decline",
    "requests_cancel",
    "webhook_endpoints_list",
    "webhook_endpoints_create",
    # Every kind of list, in the one list shape, and the answers typed for issue #16.
    "me_get",
    "limits_get",
    "payments_feed",
    "notifications_list",
    "posts_list",
    "timeline_home",
    "users_search",
    "auth_tokens_list",
    "payouts_list",
    "orders_list",
    "memberships_list",
    "links_list",
    "creator_dashboard",
)

# RFC 3339 in UTC with Z (core.api.timestamps): any string that starts like a time must be one.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def _times(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _times(item)
    elif isinstance(value, list):
        for item in value:
            yield from _times(item)
    elif isinstance(value, str) and TIMESTAMP.match(value):
        yield value


@pytest.fixture
def funded_bearer(bearer):
    from accounts.models import User
    from payments.wallets.tests.support import fund, person

    fund(User.objects.get(handle_key="fuzzer"), 100_000)
    if not User.objects.filter(handle_key="payee").exists():
        person("payee")  # someone to pay and to ask
    return bearer


@schema.include(operation_id=list(TYPED)).parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_typed_operations_answer_as_the_schema_says(case, funded_bearer):
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    response = case.call_and_validate(
        # identity: the WSGI client does not un-gzip bodies (GZipMiddleware).
        headers={"Authorization": funded_bearer, "Accept-Encoding": "identity"},
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )
    if response.headers.get("Content-Type", [""])[0].startswith("application/json"):
        body = response.json()
        assert [t for t in _times(body) if not RFC3339_Z.match(t)] == [], case.formatted_path
