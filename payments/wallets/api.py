"""REST API of wallets: balances, statement, limits, top-ups, transfers, money requests,
payment feed. Every POST that moves money carries an ``Idempotency-Key``
(``@idempotent_api``); the key (per user) is also the service's ``client_key``, so a retry
after a crash between commit and response finds the original row.

Amounts are JSON integers of minor units with an upper-case ISO 4217 currency. Every bad
amount answers 400 with a stable code: ``invalid_amount`` (string, boolean, null, missing,
``100.0``, ``1e2``), ``amount_too_precise`` (a fraction of a minor unit: more decimals
than the currency has), ``amount_must_be_positive`` (zero, negative), ``amount_too_large``;
NaN/Infinity and duplicate keys are refused by the parser (``malformed_request``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ERROR
from accounts.api_inputs import StrictSerializer, parse
from core.api.pagination import LIST_PARAMETERS, CursorPagination
from core.api.throttling import ScopedRateThrottle, UserRateThrottle
from core.exceptions import InvalidChoice
from core.idempotency import idempotent_api
from core.money import (
    AmountTooLarge,
    AmountTooPrecise,
    InvalidAmount,
    Money,
    currency_require_supported,
)
from payments.wallets import api_outputs as out
from payments.wallets import requests as money_requests
from payments.wallets import selectors, topups, transfers
from payments.wallets.errors import AmountNotPositive
from payments.wallets.limits import limits_summary
from payments.wallets.models import MoneyRequest, TopUp, Transfer, Visibility
from payments.wallets.payer import payer_reauthenticated


def money_from_input(amount: Any, currency: Any) -> Money:
    """Untrusted ``amount`` + ``currency`` → Money, or a stable 400 (see module doc)."""
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise InvalidAmount(details={"reason": "not_a_number"})
        Money.from_minor(0, currency)  # the currency's own error first
        if amount != amount.to_integral_value():
            raise AmountTooPrecise(details={"reason": "fraction_of_minor_unit"})
        raise InvalidAmount(details={"reason": "not_an_integer"})
    if amount is None:
        Money.from_minor(0, currency)
        raise InvalidAmount(details={"reason": "missing"})
    if type(amount) is int and abs(amount) > 10**15:
        Money.from_minor(0, currency)
        raise AmountTooLarge(details={"limit": 10**15})
    money = Money.from_minor(amount, currency)
    currency_require_supported(money.currency)
    if not money.is_positive:
        raise AmountNotPositive()
    return money


class MoneyThrottled:
    """Money endpoints: the per-user rate plus the stricter ``money`` rate
    (``THROTTLE_MONEY``, 120/min by default)."""

    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "money"


class _RawField(serializers.Field):
    """Passes the parsed JSON value through untouched (validated by ``money_from_input``)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.INT)
class _AmountField(_RawField):
    """Integer minor units."""


@extend_schema_field(OpenApiTypes.STR)
class _CurrencyField(_RawField):
    """Upper-case ISO 4217 code."""


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def transfer_dict(transfer: Transfer) -> dict:
    return {
        "object": "transfer",
        "id": transfer.pk,
        "from": transfer.sender.handle,
        "to": transfer.recipient.handle,
        "amount": _money(transfer.amount, transfer.currency),
        "fee": _money(0, transfer.currency),
        "note": transfer.note,
        "visibility": transfer.visibility,
        "status": transfer.status,
        "entry_id": transfer.entry_id,
        "created_at": transfer.created_at,
    }


def topup_dict(topup: TopUp) -> dict:
    return {
        "object": "top_up",
        "id": topup.pk,
        "amount": _money(topup.amount, topup.currency),
        "payment_method": topup.payment_method,
        "status": topup.status,
        "fee": _money(topup.fee, topup.currency),
        "decline_code": topup.decline_code or None,
        "created_at": topup.created_at,
    }


def request_dict(req: MoneyRequest) -> dict:
    return {
        "object": "money_request",
        "id": req.pk,
        "from": req.payer.handle,
        "to": req.requester.handle,
        "amount": _money(req.amount, req.currency),
        "note": req.note,
        "status": req.status,
        "transfer": req.transfer_id,
        "created_at": req.created_at,
    }


def balance_dict(balance: selectors.WalletBalance) -> dict:
    # ``currency`` names the wallet; each amount carries it again, as every amount does.
    return {
        "object": "balance",
        "currency": balance.currency,
        "available": _money(balance.available, balance.currency),
        "pending": _money(balance.pending, balance.currency),
    }


def statement_line_dict(line: selectors.StatementLine) -> dict:
    return {
        "object": "statement_line",
        "entry_id": line.entry_id,
        "posting_id": line.posting_id,
        "created_at": line.created_at,
        "description": line.description,
        "counterparty": line.counterparty,
        "amount": line.change.as_dict(),
        "balance_after": line.balance_after.as_dict(),
    }


def feed_item_dict(item) -> dict:
    return {"object": "feed_item", **item.as_dict()}


# --- wallet ---------------------------------------------------------------------------------
class WalletApi(APIView):
    @extend_schema(operation_id="wallet_get", responses={200: out.WALLET, 401: ERROR})
    def get(self, request):
        balances = selectors.wallet_balances(user=request.user)
        return Response({"balances": [balance_dict(b) for b in balances]})


class StatementApi(APIView):
    @extend_schema(
        operation_id="wallet_statement",
        parameters=[
            OpenApiParameter("currency", str, description="Wallet currency (default: home)."),
            *LIST_PARAMETERS,
        ],
        responses={200: out.STATEMENT, 400: ERROR},
    )
    def get(self, request):
        currency = request.query_params.get("currency") or request.user.home_currency
        paginator = CursorPagination()
        before, limit = paginator.keyset_request(request)
        page = selectors.wallet_statement(
            user=request.user, currency=currency, before=before, limit=limit
        )
        return paginator.keyset_response(
            [statement_line_dict(line) for line in page.lines], next_before=page.next_cursor
        )


class LimitsApi(APIView):
    @extend_schema(operation_id="limits_get", responses={200: out.LIMITS, 401: ERROR})
    def get(self, request):
        return Response({"object": "limits", **limits_summary(user=request.user).as_dict()})


# --- transfers ------------------------------------------------------------------------------
class TransferInput(StrictSerializer):
    to = serializers.CharField(max_length=64)
    amount = _AmountField(required=False, allow_null=True)
    currency = _CurrencyField(required=False, allow_null=True)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.values, required=False)


class TransferCreateApi(MoneyThrottled, APIView):
    @extend_schema(
        operation_id="transfers_create",
        request=TransferInput,
        responses={201: out.TRANSFER, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
        summary="Pay a person by handle (instant, no fee)",
        examples=out.TRANSFER_EXAMPLES,
    )
    @idempotent_api("transfers.create", one_transaction=True)
    def post(self, request):
        data = parse(TransferInput, request.data)
        money = money_from_input(data.get("amount"), data.get("currency"))
        transfer = transfers.transfer_create(
            sender=request.user,
            to=data["to"],
            money=money,
            note=data.get("note", ""),
            visibility=data.get("visibility"),
            client_key=f"api:{request.idempotency_key}",
            reauthenticated=payer_reauthenticated(request),
            # The idempotent transaction around this view rolls back on any refusal.
            savepoint=False,
        )
        return Response(transfer_dict(transfer), status=status.HTTP_201_CREATED)


class TransferDetailApi(APIView):
    @extend_schema(operation_id="transfers_get", responses={200: out.TRANSFER, 404: ERROR})
    def get(self, request, transfer_id: int):
        transfer = transfers.transfer_get(viewer=request.user, transfer_id=transfer_id)
        return Response(transfer_dict(transfer))


# --- top-ups --------------------------------------------------------------------------------
class TopUpInput(StrictSerializer):
    amount = _AmountField(required=False, allow_null=True)
    currency = _CurrencyField(required=False, allow_null=True)
    payment_method = serializers.CharField(max_length=100)


class TopUpCreateApi(MoneyThrottled, APIView):
    @extend_schema(
        operation_id="topups_create",
        request=TopUpInput,
        responses={
            201: out.TOPUP,
            202: out.TOPUP,
            400: ERROR,
            402: ERROR,
            422: ERROR,
            503: ERROR,
        },
        summary="Add money by card (a processor token such as pm_card_visa)",
    )
    @idempotent_api("topups.create")
    def post(self, request):
        data = parse(TopUpInput, request.data)
        money = money_from_input(data.get("amount"), data.get("currency"))
        topup = topups.topup_create(
            user=request.user,
            money=money,
            payment_method=data["payment_method"],
            client_key=f"api:{request.idempotency_key}",
        )
        return Response(topup_dict(topup), status=status.HTTP_201_CREATED)


class TopUpDetailApi(APIView):
    @extend_schema(operation_id="topups_get", responses={200: out.TOPUP, 404: ERROR})
    def get(self, request, topup_id: int):
        return Response(topup_dict(selectors.topup_get(user=request.user, topup_id=topup_id)))


class TopUpConfirmApi(MoneyThrottled, APIView):
    @extend_schema(
        operation_id="topups_confirm",
        request=None,
        responses={200: out.TOPUP, 402: ERROR, 404: ERROR, 409: ERROR},
        summary="Confirm a top-up after the cardholder authenticated",
    )
    @idempotent_api("topups.confirm")
    def post(self, request, topup_id: int):
        parse(StrictSerializer, request.data)
        topup = topups.topup_confirm(user=request.user, topup_id=topup_id)
        return Response(topup_dict(topup))


# --- money requests -------------------------------------------------------------------------
class RequestInput(StrictSerializer):
    amount = _AmountField(required=False, allow_null=True)
    currency = _CurrencyField(required=False, allow_null=True)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(max_length=64)
        return fields


class RequestListApi(MoneyThrottled, APIView):
    @extend_schema(
        operation_id="requests_list",
        parameters=[
            OpenApiParameter(
                "box",
                str,
                enum=["inbox", "sent"],
                description="`inbox` (default): open requests you were asked to pay; "
                "`sent`: requests you sent, in every status.",
            ),
            *LIST_PARAMETERS,
        ],
        responses={200: out.MONEY_REQUESTS, 400: ERROR},
        examples=out.REQUEST_LIST_EXAMPLES,
    )
    def get(self, request):
        box = request.query_params.get("box") or "inbox"
        if box not in ("inbox", "sent"):
            raise InvalidChoice(details={"field": "box", "choices": ["inbox", "sent"]})
        rows = (selectors.requests_inbox if box == "inbox" else selectors.requests_sent)(
            user=request.user
        )
        return CursorPagination().respond(
            rows, request, view=self, render=lambda page: [request_dict(r) for r in page]
        )

    @extend_schema(
        operation_id="requests_create",
        request=RequestInput,
        responses={201: out.MONEY_REQUEST, 400: ERROR, 404: ERROR, 422: ERROR},
        summary="Ask a person for money",
        examples=out.REQUEST_EXAMPLES,
    )
    @idempotent_api("requests.create")
    def post(self, request):
        data = parse(RequestInput, request.data)
        money = money_from_input(data.get("amount"), data.get("currency"))
        req = money_requests.request_create(
            requester=request.user,
            payer=data["from"],
            money=money,
            note=data.get("note", ""),
            client_key=f"api:{request.idempotency_key}",
        )
        return Response(request_dict(req), status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    @extend_schema(operation_id="requests_get", responses={200: out.MONEY_REQUEST, 404: ERROR})
    def get(self, request, request_id: int):
        return Response(
            request_dict(selectors.request_get(viewer=request.user, request_id=request_id))
        )


class _RequestActionApi(MoneyThrottled, APIView):
    action = ""

    def _act(self, request, request_id: int, **kwargs):
        parse(StrictSerializer, request.data)
        fn = getattr(money_requests, f"request_{self.action}")
        return Response(request_dict(fn(user=request.user, request_id=request_id, **kwargs)))


class RequestPayApi(_RequestActionApi):
    action = "pay"

    @extend_schema(
        operation_id="requests_pay",
        request=None,
        responses={200: out.MONEY_REQUEST, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
    )
    @idempotent_api("requests.pay", one_transaction=True)
    def post(self, request, request_id: int):
        return self._act(request, request_id, reauthenticated=payer_reauthenticated(request))


class RequestDeclineApi(_RequestActionApi):
    action = "decline"

    @extend_schema(
        operation_id="requests_decline", request=None, responses={200: out.MONEY_REQUEST}
    )
    @idempotent_api("requests.decline")
    def post(self, request, request_id: int):
        return self._act(request, request_id)


class RequestCancelApi(_RequestActionApi):
    action = "cancel"

    @extend_schema(operation_id="requests_cancel", request=None, responses={200: out.MONEY_REQUEST})
    @idempotent_api("requests.cancel")
    def post(self, request, request_id: int):
        return self._act(request, request_id)


# --- feed -----------------------------------------------------------------------------------
class FeedApi(APIView):
    @extend_schema(
        operation_id="payments_feed",
        parameters=LIST_PARAMETERS,
        responses={200: out.FEED},
    )
    def get(self, request):
        paginator = CursorPagination()
        before, limit = paginator.keyset_request(request)
        # One more than the page: whether another page follows, without an empty last page.
        items = selectors.payment_feed(viewer=request.user, before=before, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return paginator.keyset_response(
            [feed_item_dict(i) for i in items], next_before=items[-1].id if more else None
        )


# --- identity verification ------------------------------------------------------------------
class VerificationInput(StrictSerializer):
    legal_name = serializers.CharField(max_length=120)
    country = serializers.CharField(max_length=2)


class VerificationApi(APIView):
    @extend_schema(
        operation_id="verification_request",
        request=VerificationInput,
        responses={201: out.VERIFICATION, 400: ERROR},
        summary="Ask for identity verification (reviewed by staff)",
    )
    def post(self, request):
        from payments.wallets.verification import verification_request_create

        data = parse(VerificationInput, request.data)
        req = verification_request_create(
            user=request.user, legal_name=data["legal_name"], country=data["country"]
        )
        return Response(
            {
                "object": "verification_request",
                "id": req.pk,
                "status": req.status,
                "created_at": req.created_at,
            },
            status=status.HTTP_201_CREATED,
        )
