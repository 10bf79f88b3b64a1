"""Payouts API (``/api/v1/payouts``): one class per operation; each parses, calls one
service or selector, and renders."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ERROR
from accounts.api_inputs import StrictSerializer, parse
from core.api.money import MoneyOutput
from core.api.objects import object_field
from core.api.pagination import LIST_PARAMETERS, CursorPagination, list_of
from core.idempotency import idempotent_api
from core.money import InvalidAmount, Money
from payments.payouts import bank_formats, selectors, services
from payments.payouts.models import Payout, PayoutDestination
from payments.wallets.payer import payer_reauthenticated, stepup_check


class RawJsonField(serializers.Field):
    """The parsed JSON value as it came: ``Money.from_minor`` decides what an amount is
    (no float, no string, no bool) and gives the stable error codes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.INT)
class RawAmountField(RawJsonField):
    pass


@extend_schema_field(OpenApiTypes.STR)
class RawCurrencyField(RawJsonField):
    pass


class PayoutInput(StrictSerializer):
    amount = RawAmountField(help_text="Integer minor units (1050 is 10.50 USD).")
    currency = RawCurrencyField(help_text="The bank account's currency (ISO 4217).")
    method = serializers.ChoiceField(choices=["standard", "instant"], required=False)
    fx_quote_id = serializers.UUIDField(
        required=False,
        help_text="From another wallet: the quote from /payouts/quote with from_currency; "
        "the conversion and the payout happen together or not at all.",
    )


def _money(data: dict) -> Money:
    money = Money.from_minor(data["amount"], data["currency"])
    if money.amount <= 0:
        raise InvalidAmount(details={"reason": "not_positive"})
    return money


def payout_payload(payout: Payout) -> dict:
    def money(amount: int) -> dict:
        return {"amount": amount, "currency": payout.currency}

    return {
        "object": "payout",
        "id": payout.pk,
        "status": payout.status,
        "amount": money(payout.amount),
        "fee": money(payout.fee),
        "total": money(payout.amount + payout.fee),
        "method": payout.method,
        "arrival_date": payout.arrival_date,
        "failure_code": payout.failure_code or None,
        "failure_message": payout.failure_message or None,
        "destination": {
            "last4": payout.destination.last4,
            "country": payout.destination.country,
            "currency": payout.destination.currency,
        },
        "created_at": payout.created_at,
    }



PAYOUT_FIELDS = {
    "object": object_field("payout"),
    "id": serializers.IntegerField(),
    "status": serializers.CharField(),
    "amount": MoneyOutput(help_text="What reaches the bank account."),
    "fee": MoneyOutput(),
    "total": MoneyOutput(help_text="What leaves the wallet: amount + fee."),
    "method": serializers.CharField(),
    "arrival_date": serializers.DateField(allow_null=True),
    "failure_code": serializers.CharField(allow_null=True),
    "failure_message": serializers.CharField(allow_null=True),
    "destination": inline_serializer("PayoutDestinationLast4", {"last4": serializers.CharField()}),
    "created_at": serializers.DateTimeField(),
}
PAYOUT_OUTPUT = inline_serializer("Payout", PAYOUT_FIELDS)
PAYOUT_PAGE = list_of(PAYOUT_OUTPUT, "PayoutPage")


class PayoutListCreateApi(APIView):
    token_scope = "payouts"  # a token needs its payouts scope (accounts.authentication)

    @extend_schema(
        operation_id="payouts_create",
        request=PayoutInput,
        responses={202: PAYOUT_OUTPUT, 403: ERROR, 409: ERROR, 422: ERROR},
        parameters=[OpenApiParameter("Idempotency-Key", str, location="header", required=True)],
        summary="Request a payout to the active bank account (settled asynchronously)",
        examples=[
            OpenApiExample(
                "Pay out 100 EUR",
                value={"amount": 10000, "currency": "EUR", "method": "standard"},
                request_only=True,
            ),
            OpenApiExample(
                "Payout accepted",
                value={
                    "object": "payout",
                    "id": 51,
                    "status": "pending",
                    "amount": {"amount": 10000, "currency": "EUR"},
                    "fee": {"amount": 0, "currency": "EUR"},
                    "total": {"amount": 10000, "currency": "EUR"},
                    "method": "standard",
                    "arrival_date": "2026-12-03",
                    "failure_code": None,
                    "failure_message": None,
                    "destination": {"last4": "3000", "country": "DE", "currency": "EUR"},
                    "created_at": "2026-12-01T09:30:00Z",
                },
                response_only=True,
                status_codes=["202"],
            ),
        ],
    )
    @idempotent_api("payouts.create", one_transaction=True)
    def post(self, request):
        data = parse(PayoutInput, request.data)
        if data.get("fx_quote_id"):
            payout = services.payout_request_converted(
                user=request.user,
                amount=_money(data),
                method=data.get("method", "standard"),
                fx_quote_id=str(data["fx_quote_id"]),
                request_key=request.idempotency_key,
                reauthenticated=payer_reauthenticated(request),
            )
        else:
            payout = services.payout_request(
                user=request.user,
                amount=_money(data),
                method=data.get("method", "standard"),
                request_key=request.idempotency_key,
                reauthenticated=payer_reauthenticated(request),
            )
        return Response(payout_payload(payout), status=202)

    @extend_schema(
        operation_id="payouts_list", parameters=LIST_PARAMETERS, responses={200: PAYOUT_PAGE}
    )
    def get(self, request):
        return CursorPagination().respond(
            selectors.payouts_of(user=request.user),
            request,
            view=self,
            render=lambda page: [payout_payload(p) for p in page],
        )


class PayoutDetailApi(APIView):
    token_scope = "payouts"  # a token needs its payouts scope (accounts.authentication)

    @extend_schema(operation_id="payouts_read", responses={200: PAYOUT_OUTPUT})
    def get(self, request, payout_id: str):
        payout = selectors.payout_get_for_owner(user=request.user, payout_id=payout_id)
        return Response(payout_payload(payout))


class PayoutQuoteInput(StrictSerializer):
    amount = RawAmountField(help_text="Integer minor units of the bank account's currency.")
    currency = RawCurrencyField(help_text="The bank account's currency (ISO 4217).")
    method = serializers.ChoiceField(choices=["standard", "instant"], required=False)
    from_currency = serializers.CharField(
        required=False, max_length=3, help_text="The wallet that pays, when not ``currency``."
    )


QUOTE_OUTPUT = inline_serializer(
    "PayoutQuote",
    {
        "object": object_field("payout_quote"),
        "amount": MoneyOutput(),
        "fee": MoneyOutput(),
        "total": MoneyOutput(),
        "method": serializers.CharField(),
        "arrival_estimate": serializers.DateField(),
        "conversion": inline_serializer(
            "PayoutConversion",
            {
                "fx_quote_id": serializers.UUIDField(),
                "source": MoneyOutput(),
                "fx_fee": MoneyOutput(),
                "mid_rate": serializers.CharField(),
                "expires_at": serializers.DateTimeField(),
            },
            allow_null=True,
        ),
    },
)
DESTINATION_OUTPUT = inline_serializer(
    "PayoutDestinationOutput",
    {
        "destination": inline_serializer(
            "PayoutDestination",
            {
                "object": object_field("payout_destination"),
                "id": serializers.IntegerField(),
                "kind": serializers.ChoiceField(choices=["bank_account", "card"]),
                "last4": serializers.CharField(),
                "card_brand": serializers.CharField(),
                "instant_available": serializers.BooleanField(),
                "country": serializers.CharField(),
                "currency": serializers.CharField(),
                "account_holder_name": serializers.CharField(),
                "schedule": serializers.CharField(),
                "payouts_allowed_at": serializers.DateTimeField(),
            },
            allow_null=True,
        )
    },
)


class PayoutQuoteApi(APIView):
    token_scope = "payouts"  # a token needs its payouts scope (accounts.authentication)

    @extend_schema(
        operation_id="payouts_quote", request=PayoutQuoteInput, responses={200: QUOTE_OUTPUT}
    )
    def post(self, request):
        """The fee and arrival estimate of a payout, before requesting it (moves nothing)."""
        data = parse(PayoutQuoteInput, request.data)
        money = _money(data)
        method = data.get("method", "standard")
        conversion = None
        if data.get("from_currency") and data["from_currency"] != money.currency:
            conversion = services.payout_conversion_quote(
                user=request.user, amount=money, method=method, from_currency=data["from_currency"]
            )
            quote = conversion.payout
        else:
            quote = services.payout_quote(amount=money, method=method)
        body = {
            "object": "payout_quote",
            "amount": quote.amount.as_dict(),
            "fee": quote.fee.as_dict(),
            "total": quote.total.as_dict(),
            "method": quote.method,
            "arrival_estimate": quote.arrival_estimate.isoformat(),
            "conversion": None,
        }
        if conversion is not None:
            body["conversion"] = {
                "fx_quote_id": conversion.fx_quote_id,
                "source": conversion.source.as_dict(),
                "fx_fee": conversion.fx_fee.as_dict(),
                "mid_rate": str(conversion.mid_rate),
                "expires_at": conversion.expires_at,
            }
        return Response(body)


class DestinationInput(StrictSerializer):
    """The bank account: ``country`` (default US, the only kind this endpoint once took),
    ``currency`` (default the country's usual one) and the country's fields, which
    ``GET /payouts/bank-formats`` lists; or a processor ``token`` instead of fields."""

    country = serializers.CharField(required=False, max_length=2, default="US")
    currency = serializers.CharField(required=False, max_length=3, allow_blank=True)
    token = serializers.CharField(required=False, max_length=100, allow_blank=True)
    account_holder_name = serializers.CharField(required=False, max_length=100, allow_blank=True)
    schedule = serializers.ChoiceField(choices=["manual", "weekly"], required=False)

    def get_fields(self):
        fields = super().get_fields()
        for name in bank_formats.FIELD_NAMES:
            fields[name] = serializers.CharField(
                required=False, max_length=bank_formats.MAX_FIELD_LENGTH, allow_blank=True
            )
        return fields


def destination_payload(destination: PayoutDestination | None) -> dict | None:
    if destination is None:
        return None
    return {
        "object": "payout_destination",
        "id": destination.pk,
        "kind": destination.kind,
        "last4": destination.last4,
        "card_brand": destination.card_brand,
        "instant_available": destination.instant_available,
        "country": destination.country,
        "currency": destination.currency,
        "account_holder_name": destination.account_holder_name,
        "schedule": destination.schedule,
        "payouts_allowed_at": destination.payouts_allowed_at,
    }


BANK_FORMATS_OUTPUT = inline_serializer(
    "PayoutBankFormats",
    {
        "countries": inline_serializer(
            "PayoutBankFormat",
            {
                "country": serializers.CharField(),
                "currencies": serializers.ListField(child=serializers.CharField()),
                "fields": inline_serializer(
                    "PayoutBankField",
                    {
                        "name": serializers.CharField(),
                        "label": serializers.CharField(),
                        "required": serializers.BooleanField(),
                        "help": serializers.CharField(allow_blank=True),
                    },
                    many=True,
                ),
            },
            many=True,
        ),
        "hold_hours": serializers.IntegerField(),
    },
)


class PayoutBankFormatsApi(APIView):
    @extend_schema(operation_id="payout_bank_formats", responses={200: BANK_FORMATS_OUTPUT})
    def get(self, request):
        """What a bank account needs, country by country, and the hold a change starts."""
        countries = []
        for code in bank_formats.bank_countries():
            fmt = bank_formats.FORMATS[code]
            countries.append(
                {
                    "country": code,
                    "currencies": list(fmt.supported_currencies()),
                    "fields": [
                        {
                            "name": f.name,
                            "label": str(f.label),
                            "required": f.required,
                            "help": str(f.help_text),
                        }
                        for f in fmt.fields
                    ],
                }
            )
        return Response(
            {"countries": countries, "hold_hours": settings.PAYOUT_DESTINATION_HOLD_HOURS}
        )


class PayoutDestinationApi(APIView):
    token_scope = "payouts"  # a token needs its payouts scope (accounts.authentication)

    @extend_schema(operation_id="payout_destination_read", responses={200: DESTINATION_OUTPUT})
    def get(self, request):
        return Response(
            {
                "destination": destination_payload(
                    selectors.payout_destination_active(user=request.user)
                )
            }
        )

    @extend_schema(
        operation_id="payout_destination_set",
        request=DestinationInput,
        responses={201: DESTINATION_OUTPUT},
    )
    def put(self, request):
        """Attach a bank account (re-authentication required; starts the payout hold)."""
        # Changing where money goes out always needs a fresh proof (the step-up rule).
        stepup_check(counted=None, reauthenticated=payer_reauthenticated(request))
        data = parse(DestinationInput, request.data)
        details = {name: data[name] for name in bank_formats.FIELD_NAMES if data.get(name)}
        destination = services.payout_destination_add(
            user=request.user,
            country=data["country"],
            currency=data.get("currency", ""),
            details=details,
            token=data.get("token", ""),
            account_holder_name=data.get("account_holder_name", ""),
            schedule=data.get("schedule", "manual"),
        )
        return Response({"destination": destination_payload(destination)}, status=201)


class CardDestinationInput(StrictSerializer):
    """A debit card for payouts, as a processor token (``tok_visa_debit``); never a number."""

    token = serializers.CharField(max_length=100)
    currency = serializers.CharField(required=False, max_length=3, allow_blank=True)


class PayoutCardApi(APIView):
    token_scope = "payouts"  # a token needs its payouts scope (accounts.authentication)

    @extend_schema(
        operation_id="payout_destination_card_set",
        request=CardDestinationInput,
        responses={201: DESTINATION_OUTPUT},
    )
    def put(self, request):
        """Attach a debit card (re-authentication required; starts the payout hold).
        Instant payouts go to it; a credit or prepaid card is refused
        (``payout_card_not_debit``)."""
        stepup_check(counted=None, reauthenticated=payer_reauthenticated(request))
        data = parse(CardDestinationInput, request.data)
        destination = services.payout_card_add(
            user=request.user, token=data["token"], currency=data.get("currency", "")
        )
        return Response({"destination": destination_payload(destination)}, status=201)
