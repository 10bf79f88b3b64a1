"""Output serializers of the wallet API: the declared shapes of what ``api.py`` returns
(``transfer_dict``, ``topup_dict``, ``request_dict``, balances, statements), so the schema
has no untyped object for them and schemathesis can check the answers against it
(``tests/test_api_fuzz.py``)."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from payments.wallets.models import MoneyRequest, TopUp, Transfer, Visibility


def _amount(help_text: str = "Integer minor units of `currency`."):
    return serializers.IntegerField(help_text=help_text)


BALANCE = inline_serializer(
    "WalletBalance",
    {
        "currency": serializers.CharField(),
        "available": _amount("Spendable now, in minor units."),
        "pending": _amount("Top-ups not settled yet, in minor units."),
    },
)
WALLET = inline_serializer("Wallet", {"balances": type(BALANCE)(many=True)})

STATEMENT_LINE = inline_serializer(
    "StatementLine",
    {
        "entry_id": serializers.IntegerField(),
        "posting_id": serializers.IntegerField(),
        "created_at": serializers.DateTimeField(),
        "description": serializers.CharField(),
        "counterparty": serializers.CharField(allow_null=True),
        "amount": _amount("Signed change of the balance, in minor units."),
        "currency": serializers.CharField(),
        "balance_after": _amount(),
    },
)
STATEMENT = inline_serializer(
    "WalletStatement",
    {
        "currency": serializers.CharField(),
        "lines": type(STATEMENT_LINE)(many=True),
        "next_cursor": serializers.IntegerField(allow_null=True),
    },
)

TRANSFER = inline_serializer(
    "Transfer",
    {
        "id": serializers.IntegerField(),
        "from": serializers.CharField(help_text="The sender's handle."),
        "to": serializers.CharField(help_text="The recipient's handle."),
        "amount": _amount(),
        "currency": serializers.CharField(),
        "fee": _amount("Always 0: transfers are free."),
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
        "id": serializers.IntegerField(),
        "amount": _amount(),
        "currency": serializers.CharField(),
        "payment_method": serializers.CharField(),
        "status": serializers.ChoiceField(choices=TopUp.Status.values),
        "fee": _amount(),
        "decline_code": serializers.CharField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)

MONEY_REQUEST = inline_serializer(
    "MoneyRequest",
    {
        "id": serializers.IntegerField(),
        "from": serializers.CharField(help_text="The payer's handle."),
        "to": serializers.CharField(help_text="The requester's handle."),
        "amount": _amount(),
        "currency": serializers.CharField(),
        "note": serializers.CharField(allow_blank=True),
        "status": serializers.ChoiceField(choices=MoneyRequest.Status.values),
        "transfer": serializers.IntegerField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)
MONEY_REQUESTS = inline_serializer(
    "MoneyRequests",
    {
        "inbox": type(MONEY_REQUEST)(many=True),
        "sent": type(MONEY_REQUEST)(many=True),
    },
)
