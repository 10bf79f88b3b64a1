"""The OpenAPI contract (``/api/schema/``) says what the API does: every money POST declares
``Idempotency-Key``, every operation has a summary, a tag of its area and the error
responses in the one error shape, and list shapes match what the views return."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

ERROR_REF = "#/components/schemas/Error"
MONEY_TAGS = {"wallet", "fx", "creators", "payouts", "links"}
# POSTs in the money areas that move no money, so need no Idempotency-Key. A new POST in
# these areas must either be idempotent_api or be added here on purpose.
POSTS_WITHOUT_MONEY = {
    "/api/v1/fx/home-currency",
    "/api/v1/fx/quotes",
    "/api/v1/links",
    "/api/v1/links/{slug}/deactivate",
    "/api/v1/memberships/{membership_id}/cancel",
    "/api/v1/memberships/tiers",
    "/api/v1/payouts/quote",
    "/api/v1/products",
    "/api/v1/verification",
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _declares_key(operation) -> bool:
    return any(
        p["in"] == "header" and p["name"] == "Idempotency-Key" and p["required"]
        for p in operation.get("parameters", [])
    )


def test_every_money_post_declares_the_idempotency_key(schema):
    missing = [
        path
        for path, method, op in _operations(schema)
        if method == "post"
        and set(op["tags"]) & MONEY_TAGS
        and path not in POSTS_WITHOUT_MONEY
        and not _declares_key(op)
    ]
    assert missing == []
    declared = [(m, p) for p, m, op in _operations(schema) if _declares_key(op)]
    assert len(declared) == 19, declared
    for path, _method, op in _operations(schema):
        if _declares_key(op):
            assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
                "$ref": ERROR_REF
            }, path


def test_the_header_follows_the_decorator_not_a_list(schema):
    """Every view method marked by idempotent_api (or idempotent_dispatch), found by
    walking the URL patterns, declares the header in the schema; nothing else does."""
    from drf_spectacular.generators import EndpointEnumerator

    from core.idempotency import idempotent_api

    assert idempotent_api("x")(lambda view, request: None).idempotency_endpoint == "x"
    marked = set()
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        handler = getattr(callback.cls, method.lower(), None)
        if getattr(handler, "idempotency_endpoint", None):
            marked.add((path, method.lower()))
    declared = {(p, m) for p, m, op in _operations(schema) if _declares_key(op)}
    assert marked == declared
    assert ("/api/v1/transfers", "post") in marked


def test_no_operation_without_a_summary_or_an_area_tag(schema):
    areas = {"accounts", "posts", "wallet", "fx", "creators", "payouts", "links", "webhooks"}
    no_summary = [op["operationId"] for _p, _m, op in _operations(schema) if not op.get("summary")]
    assert no_summary == []
    bad_tags = [
        (p, op.get("tags"))
        for p, _m, op in _operations(schema)
        if op.get("tags", [""])[0] not in areas
    ]
    assert bad_tags == []
    assert {t["name"] for t in schema["tags"]} == areas


def test_every_operation_documents_the_errors_in_the_error_shape(schema):
    for path, method, op in _operations(schema):
        for status in ("400", "401", "403", "404", "409", "429"):
            response = op["responses"].get(status)
            assert response, (method, path, status)
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "details"]


def test_servers_are_declared(schema):
    assert schema["servers"] == [{"url": "/", "description": "This server"}]


@pytest.mark.parametrize(
    ("path", "component"),
    [
        ("/api/v1/payouts", "PayoutPage"),
        ("/api/v1/posts", "TimelinePage"),
        ("/api/v1/users/{handle}/posts", "TimelinePage"),
    ],
)
def test_paginated_lists_are_declared_as_pages(schema, path, component):
    ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": f"#/components/schemas/{component}"}
    page = schema["components"]["schemas"][component]
    assert {"next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"


@pytest.mark.django_db
def test_the_declared_page_shapes_are_what_the_views_return(client):
    from payments.wallets.tests.support import api, person

    user = person()
    for path in ("/api/v1/payouts", "/api/v1/posts", f"/api/v1/users/{user.handle}/posts"):
        body = api(user).get(path).json()
        assert set(body) == {"next", "previous", "results"}, path
