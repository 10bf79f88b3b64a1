"""The dated API version (``core.api.versioning``): on every /api/ answer, pinnable by the
client, an unknown pin refused before anything runs, and declared in the schema."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.api.versioning import CURRENT, HEADER, VERSIONS


@pytest.mark.django_db
def test_every_api_answer_says_its_version():
    from payments.wallets.tests.support import api, person

    client = api(person())
    answers = [
        client.get("/api/v1/me"),  # 200
        client.get("/api/v1/no-such-thing"),  # 404 from Django's resolver
        client.delete("/api/v1/wallet"),  # 405
        APIClient().get("/api/v1/me"),  # 401
        APIClient().get("/api/schema/"),
    ]
    assert [a[HEADER] for a in answers] == [CURRENT] * len(answers)
    assert HEADER not in APIClient().get("/login")  # pages are not the API


@pytest.mark.django_db
def test_a_client_pins_a_known_version_and_an_unknown_one_is_refused_with_nothing_written():
    from payments.wallets.models import Transfer
    from payments.wallets.tests.support import api, fund, key, person

    alice, bob = person(), person()
    fund(alice, 5_000)
    client = api(alice)
    pinned = client.get("/api/v1/me", HTTP_SOCIALPAY_VERSION=VERSIONS[0])
    assert pinned.status_code == 200 and pinned[HEADER] == VERSIONS[0]
    refused = client.post(
        "/api/v1/transfers",
        {"to": bob.handle, "amount": 100, "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
        HTTP_SOCIALPAY_VERSION="2019-01-01",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unsupported_api_version"
    assert refused.json()["error"]["details"]["supported"] == list(VERSIONS)
    assert refused[HEADER] == CURRENT
    assert not Transfer.objects.filter(sender=alice).exists()


def test_the_schema_declares_the_version_on_every_operation():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            params = [p for p in op["parameters"] if p["name"] == HEADER]
            assert len(params) == 1 and params[0]["in"] == "header", (method, path)
            assert params[0]["schema"]["enum"] == list(VERSIONS)
            for status, response in op["responses"].items():
                assert HEADER in response["headers"], (method, path, status)
