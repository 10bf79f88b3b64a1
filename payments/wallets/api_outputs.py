"""Output serializers of the wallet API: the declared shapes of what ``api.py`` returns
(``transfer_dict``, ``topup_dict``, ``request_dict``, balances, statements), so the schema
has no untyped object for them and schemathesis can check the answers against it
(``tests/test_api_fuzz.py``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, inline_serializer
from rest_framework import serializers

from core.api.money import MoneyOutput
from core.api.objects import object_field
from core.api.pagination import list_of
from payments.wallets.models import MoneyRequest, TopUp, Transfer, Visibility


def _money(**kwargs):
    return MoneyOutput(**kwargs)


BALANCE = inline_serializer(
    "WalletBalance",
    {
        "object": object_field("balance"),
        "currency": serializers.CharField(help_text="The wallet's currency."),
        "available": _money(help_text="Spendable now."),
        "pending": _money(help_text="Top-ups not settled yet."),
    },
)
WALLET = inline_serializer("Wallet", {"balances": type(BALANCE)(many=True)})

STATEMENT_LINE = inline_serializer(
    "StatementLine",
    {
        "object": object_field("statement_line"),
        "entry_id": serializers.IntegerField(),
        "posting_id": serializers.IntegerField(),
        "created_at": serializers.DateTimeField(),
        "description": serializers.CharField(),
        "counterparty": serializers.CharField(allow_null=True),
        "amount": _money(help_text="Signed change of the balance."),
        "balance_after": _money(),
    },
)
STATEMENT = list_of(STATEMENT_LINE, "WalletStatement")

TRANSFER = inline_serializer(
    "Transfer",
    {
        "object": object_field("transfer"),
        "id": serializers.IntegerField(),
        "from": serializers.CharField(help_text="The sender's handle."),
        "to": serializers.CharField(help_text="The recipient's handle."),
        "amount": _money(),
        "fee": _money(help_text="Always 0: transfers are free."),
        "note": serializers.CharField(allow_blank=True),
        "visibility": serializers.ChoiceField(choices=Visibility.values),
        "status": serializers.ChoiceField(choices=Transfer.Status.values),
        "entry_id": serializers.IntegerField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)

TOPUP = inline_serializer(
    "TopUp",
    {
        "object": object_field("top_up"),
        "id": serializers.IntegerField(),
        "amount": _money(),
        "payment_method": serializers.CharField(),
        "status": serializers.ChoiceField(choices=TopUp.Status.values),
        "fee": _money(),
        "decline_code": serializers.CharField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)

MONEY_REQUEST = inline_serializer(
    "MoneyRequest",
    {
        "object": object_field("money_request"),
        "id": serializers.IntegerField(),
        "from": serializers.CharField(help_text="The payer's handle."),
        "to": serializers.CharField(help_text="The requester's handle."),
        "amount": _money(),
        "note": serializers.CharField(allow_blank=True),
        "status": serializers.ChoiceField(choices=MoneyRequest.Status.values),
        "transfer": serializers.IntegerField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)
MONEY_REQUESTS = list_of(MONEY_REQUEST, "MoneyRequestList")


FEED_ITEM = inline_serializer(
    "FeedItem",
    {
        "object": object_field("feed_item"),
        "id": serializers.IntegerField(help_text="The transfer's id."),
        "from": serializers.CharField(),
        "to": serializers.CharField(),
        "text": serializers.CharField(),
        "note": serializers.CharField(allow_blank=True),
        "visibility": serializers.ChoiceField(choices=Visibility.values),
        "created_at": serializers.DateTimeField(),
        "amount": _money(allow_null=True, help_text="Only for the two parties."),
    },
)
FEED = list_of(FEED_ITEM, "PaymentFeed")

LIMITS = inline_serializer(
    "Limits",
    {
        "object": object_field("limits"),
        "tier": serializers.CharField(),
        "weekly_send": _money(),
        "weekly_used": _money(),
        "weekly_remaining": _money(),
        "per_transfer": _money(),
        "week_resets_at": serializers.DateTimeField(),
        "transfers_per_minute": serializers.IntegerField(),
        "payouts_allowed": serializers.BooleanField(),
    },
)

VERIFICATION = inline_serializer(
    "VerificationRequest",
    {
        "object": object_field("verification_request"),
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
    },
)


# --- examples (shown in /api/docs/ and generated clients) -----------------------------------
TRANSFER_EXAMPLES = [
    OpenApiExample(
        "Pay a friend",
        value={"to": "bob", "amount": 1250, "currency": "EUR", "note": "Pizza 🍕"},
        request_only=True,
    ),
    OpenApiExample(
        "Transfer completed",
        value={
            "object": "transfer",
            "id": 4812,
            "from": "alice",
            "to": "bob",
            "amount": {"amount": 1250, "currency": "EUR"},
            "fee": {"amount": 0, "currency": "EUR"},
            "note": "Pizza 🍕",
            "visibility": "private",
            "status": "completed",
            "entry_id": 90211,
            "created_at": "2026-12-01T09:30:00.123456Z",
        },
        response_only=True,
        status_codes=["201"],
    ),
]

_REQUEST = {
    "object": "money_request",
    "id": 311,
    "from": "bob",
    "to": "alice",
    "amount": {"amount": 2000, "currency": "EUR"},
    "note": "Concert tickets",
    "status": "open",
    "transfer": None,
    "created_at": "2026-12-01T09:30:00Z",
}
REQUEST_EXAMPLES = [
    OpenApiExample(
        "Ask for money",
        value={"from": "bob", "amount": 2000, "currency": "EUR", "note": "Concert tickets"},
        request_only=True,
    ),
    OpenApiExample("Request open", value=_REQUEST, response_only=True, status_codes=["201"]),
]
REQUEST_LIST_EXAMPLES = [
    OpenApiExample(
        "A page of requests",
        value={
            "object": "list",
            "data": [_REQUEST],
            "has_more": True,
            "next_cursor": "cD0zMTE=",
        },
        response_only=True,
        status_codes=["200"],
    )
]
