"""The OpenAPI contract's house rules, applied to the generated schema (drf-spectacular
postprocessing hooks, ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``).

``contract_hook`` makes every operation say what the API really does:

* ``Idempotency-Key``: every view method wrapped by ``core.idempotency.idempotent_api``
  (it carries ``idempotency_endpoint``) declares the required header, so a generated
  client sends it; a new money endpoint cannot forget it (``tests/test_api_schema.py``).
* Errors: every operation documents 400, 401, 403, 404, 409 and 429 with the one error
  shape (``core.api.errors``), and 422 when it takes an ``Idempotency-Key`` (a key reused
  with another body).
* Tags: one per area, from the path (``/api/v1/transfers`` → ``wallet``), unless the view
  chose its own.
* Version: every operation takes an optional ``SocialPay-Version`` request header (the
  versions this server knows) and every answer carries the header (``core.api.versioning``).
* Summaries: the view's ``summary``, else the first sentence of its docstring, else the
  line in ``SUMMARIES`` below.
"""

from __future__ import annotations

from core.api import versioning
from core.idempotency import HEADER

ERROR_STATUSES = {
    "400": "The request is malformed or a field is invalid (see `error.code`).",
    "401": "No valid credentials.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such object, or not visible to you.",
    "409": "The object's state does not allow this now.",
    "429": "Too many requests: wait `details.retry_after_seconds`.",
}
IDEMPOTENCY_STATUS = ("422", "The Idempotency-Key was used with another request body.")

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "For people; may change."},
                "details": {"type": "object", "additionalProperties": {}},
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "schema": {"type": "string", "minLength": 8, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": (
        "A unique key per intended operation (a UUID). A retry with the same key and body "
        "returns the first answer with `Idempotent-Replayed: true`; the same key with "
        "another body is a 422, while the first request runs a 409."
    ),
}

VERSION_PARAMETER = {
    "in": "header",
    "name": versioning.HEADER,
    "required": False,
    "schema": {"type": "string", "enum": list(versioning.VERSIONS)},
    "description": (
        "Pin the dated API version the client was written against (default: the current "
        "one). An unknown version is a 400 `unsupported_api_version`. See the API changelog."
    ),
}
VERSION_HEADER = {
    "description": "The dated API version this answer follows.",
    "schema": {"type": "string", "example": versioning.CURRENT},
}

# The first path segment after /api/v1/ → the tag of its area.
TAGS = {
    "auth": "accounts",
    "me": "accounts",
    "users": "accounts",
    "notifications": "accounts",
    "posts": "posts",
    "timeline": "posts",
    "wallet": "wallet",
    "limits": "wallet",
    "topups": "wallet",
    "transfers": "wallet",
    "requests": "wallet",
    "verification": "wallet",
    "payments": "wallet",
    "fx": "fx",
    "products": "creators",
    "orders": "creators",
    "memberships": "creators",
    "creator": "creators",
    "payouts": "payouts",
    "links": "links",
    "webhook-endpoints": "webhooks",
    "webhook-deliveries": "webhooks",
}
# Sub-paths that belong to another area than their first segment.
TAG_SUFFIXES = {"tips": "creators", "unlock": "creators"}

TAG_DESCRIPTIONS = {
    "accounts": "Sign-up, tokens, profiles, the social graph and notifications.",
    "posts": "Posts, replies, likes, reposts and the timeline.",
    "wallet": "Balances, statements, top-ups, transfers, money requests and limits.",
    "fx": "Rates, quotes, conversions and sends across currencies.",
    "creators": "Tips, paid posts, products and orders, memberships, the dashboard.",
    "payouts": "Bank accounts and payouts.",
    "links": "Payment links: create, share, pay, deactivate, and their payments.",
    "webhooks": "Outgoing webhooks: endpoints, deliveries, redelivery.",
}

#: Summaries of operations whose views declare none (by operationId).
SUMMARIES = {
    "creator_dashboard": "Your creator dashboard: earnings, supporters and sales",
    "limits_get": "Your sending limits and what is left of them",
    "me_get": "Your own profile and settings",
    "me_update": "Change your profile or settings",
    "memberships_list": "Your memberships",
    "memberships_cancel": "Cancel a membership at the end of its paid period",
    "membership_tiers_create": "Create a membership tier",
    "notifications_list": "Your notifications, newest first",
    "notifications_mark_read": "Mark notifications read",
    "notifications_unread_count": "How many notifications are unread",
    "orders_list": "Your orders, as buyer and as seller",
    "orders_get": "One order",
    "orders_confirm": "Confirm delivery: the money is released to the seller",
    "orders_ship": "Mark a paid physical order shipped",
    "payments_feed": "Payments of the people you follow (as they chose to show them)",
    "payouts_list": "Your payouts, newest first",
    "payouts_read": "One payout",
    "payout_destination_read": "Your active bank account for payouts",
    "payout_destination_set": "Attach a bank account (re-authentication required)",
    "payouts_quote": "The fee and arrival date of a payout, before requesting it",
    "posts_get": "One post",
    "posts_delete": "Delete your post",
    "posts_like": "Like a post",
    "posts_unlike": "Take back a like",
    "posts_reply": "Reply to a post",
    "posts_report": "Report a post to the moderators",
    "posts_repost": "Repost a post",
    "posts_unrepost": "Take back a repost",
    "posts_tips_list": "Tips on a post",
    "products_create": "Offer a product for sale",
    "requests_list": "Money requests you were asked to pay (`box=inbox`) or sent (`box=sent`)",
    "requests_get": "One money request",
    "requests_cancel": "Withdraw a money request you sent",
    "requests_decline": "Decline a money request",
    "requests_pay": "Pay a money request",
    "topups_get": "One top-up",
    "transfers_get": "One transfer",
    "users_search": "Find people by handle or name",
    "users_get": "A person's public profile",
    "users_unblock": "Unblock a person",
    "users_unfollow": "Unfollow a person",
    "users_unmute": "Unmute a person",
    "users_tip": "Tip a creator",
    "wallet_get": "Your balances in every currency",
    "wallet_statement": "Your wallet statement, newest first",
}


def _idempotent_operations(generator) -> set[tuple[str, str]]:
    """(path, method) of every operation whose view method is ``idempotent_api``."""
    marked = set()
    for path, _regex, method, callback in generator.endpoints or []:
        view_class = getattr(callback, "cls", None)
        handler = getattr(view_class, method.lower(), None)
        if getattr(handler, "idempotency_endpoint", None):
            marked.add((path, method.lower()))
    return marked


def _tag(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or parts[0] != "api":
        return None
    if parts[-1] in TAG_SUFFIXES:
        return TAG_SUFFIXES[parts[-1]]
    return TAGS.get(parts[2])


def _first_sentence(text: str) -> str:
    line = text.strip().split("\n\n", 1)[0].replace("\n", " ")
    sentence = line.split(". ", 1)[0].rstrip(".")
    return sentence[:120]


def contract_hook(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    error_ref = {"$ref": "#/components/schemas/Error"}
    idempotent = _idempotent_operations(generator)
    used_tags: set[str] = set()
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            parameters = operation.setdefault("parameters", [])
            needs_key = (path, method) in idempotent
            if needs_key:
                parameters[:] = [
                    p for p in parameters if not (p.get("in") == "header" and p["name"] == HEADER)
                ]
                parameters.append(IDEMPOTENCY_PARAMETER)
            if not any(p.get("name") == versioning.HEADER for p in parameters):
                parameters.append(VERSION_PARAMETER)
            responses = operation.setdefault("responses", {})
            statuses = dict(ERROR_STATUSES)
            if needs_key:
                statuses[IDEMPOTENCY_STATUS[0]] = IDEMPOTENCY_STATUS[1]
            for status, description in statuses.items():
                documented = responses.setdefault(status, {"description": description})
                documented.setdefault("description", description)
                documented["content"] = {"application/json": {"schema": error_ref}}
            for response in responses.values():
                response.setdefault("headers", {})[versioning.HEADER] = VERSION_HEADER
            tags = operation.get("tags") or []
            if tags in ([], ["v1"], ["api"]):
                tag = _tag(path)
                if tag:
                    operation["tags"] = tags = [tag]
            used_tags.update(tags)
            if not operation.get("summary"):
                summary = SUMMARIES.get(operation.get("operationId", ""))
                if summary is None and operation.get("description"):
                    summary = _first_sentence(operation["description"])
                if summary:
                    operation["summary"] = summary
    result["tags"] = [
        {"name": name, "description": TAG_DESCRIPTIONS.get(name, "")} for name in sorted(used_tags)
    ]
    return result
