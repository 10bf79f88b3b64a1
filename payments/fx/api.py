"""REST API for money across borders: rates, quotes, conversions, cross-border transfers and
the home currency. One class per operation; each parses, calls one service or selector and
renders. Executions require an ``Idempotency-Key``; a quote itself moves no money.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
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
from core.api.objects import object_field
from core.api.throttling import ScopedRateThrottle
from core.idempotency import HEADER, idempotent_api
from payments.fx import selectors, services
from payments.fx.models import FxQuote
from payments.wallets.payer import payer_reauthenticated

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=True, description="8-255 printable ASCII."
)


def _money_field(name: str):
    return inline_serializer(
        name, {"amount": serializers.IntegerField(), "currency": serializers.CharField()}
    )


class FxQuoteOutput(serializers.Serializer):
    object = object_field("fx_quote")
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["open", "expired", "used"])
    source = _money_field("FxSourceMoney")
    target = _money_field("FxTargetMoney")
    fee = _money_field("FxFeeMoney")
    fee_in_source = _money_field("FxFeeInSourceMoney")
    fee_bps = serializers.IntegerField()
    mid_rate = serializers.CharField(help_text="Target units per source unit, mid-market.")
    our_rate = serializers.CharField(help_text="The mid rate net of our fee (display).")
    fixed_side = serializers.ChoiceField(choices=["source", "target"])
    rate_source = serializers.CharField()
    rate_as_of = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    expires_in_seconds = serializers.IntegerField()
    kind = serializers.CharField(allow_blank=True)
    entry = serializers.IntegerField(allow_null=True)
    recipient = serializers.CharField(allow_null=True)
    executed_at = serializers.DateTimeField(allow_null=True)


def quote_payload(quote: FxQuote) -> dict:
    pricing = services.quote_pricing(quote)
    now = timezone.now()
    if quote.entry_id is not None:
        status = "used"
    elif now >= quote.expires_at:
        status = "expired"
    else:
        status = "open"
    return {
        "object": "fx_quote",
        "id": str(quote.pk),
        "status": status,
        "source": pricing.source.as_dict(),
        "target": pricing.target.as_dict(),
        "fee": pricing.fee.as_dict(),
        "fee_in_source": pricing.fee_in_source.as_dict(),
        "fee_bps": quote.fee_bps,
        "mid_rate": f"{quote.mid_rate:f}",
        "our_rate": f"{pricing.our_rate:f}",
        "fixed_side": quote.fixed_side,
        "rate_source": quote.snapshot.source,
        "rate_as_of": quote.snapshot.as_of,
        "created_at": quote.created_at,
        "expires_at": quote.expires_at,
        "expires_in_seconds": max(0, int((quote.expires_at - now).total_seconds())),
        "kind": quote.kind,
        "entry": quote.entry_id,
        "recipient": quote.recipient.handle if quote.recipient_id else None,
        "executed_at": quote.executed_at,
    }


@extend_schema_field(OpenApiTypes.INT)
class RawAmountField(serializers.Field):
    """Passes the parsed JSON value through untouched: ``core.money`` decides what an amount
    is (an integer; never a bool, a string, or a Decimal from a fractional number)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class FxQuoteInput(StrictSerializer):
    source_currency = serializers.CharField(max_length=8, trim_whitespace=False)
    target_currency = serializers.CharField(
        max_length=8, trim_whitespace=False, required=False, allow_null=True
    )
    # Raw JSON values: core.money decides what an amount is (ints only, no bool/float/str).
    source_amount = RawAmountField(required=False, allow_null=True)
    target_amount = RawAmountField(required=False, allow_null=True)
    to = serializers.CharField(
        max_length=64,
        required=False,
        help_text="Recipient handle: the target currency becomes their home currency.",
    )


class QuoteCreateApi(APIView):
    @extend_schema(
        operation_id="fx_quotes_create",
        request=FxQuoteInput,
        responses={201: FxQuoteOutput, 400: ERROR, 404: ERROR, 422: ERROR, 503: ERROR},
        summary="Quote a conversion: mid rate, our fee in both currencies, what arrives",
        description=(
            "Give exactly one of `source_amount` (what you pay) or `target_amount` (what "
            "arrives), in integer minor units. The quote is valid for `expires_in_seconds`. "
            "Rounding: the mid-rate value is rounded down to the target's minor unit, the fee "
            "up; nothing ever arrives beyond the mid-rate value minus the fee. A rate older "
            "than the source's maximum age answers 503 `rate_stale`."
        ),
    )
    def post(self, request):
        data = parse(FxQuoteInput, request.data)
        quote = services.fx_quote_create(
            user=request.user,
            source_currency=data["source_currency"],
            target_currency=data.get("target_currency"),
            source_amount=data.get("source_amount"),
            target_amount=data.get("target_amount"),
            to=data.get("to"),
        )
        return Response(quote_payload(quote), status=201)


class QuoteDetailApi(APIView):
    @extend_schema(
        operation_id="fx_quotes_get", responses={200: FxQuoteOutput, 404: ERROR}, summary="A quote"
    )
    def get(self, request, quote_id: str):
        return Response(quote_payload(selectors.quote_get(user=request.user, quote_id=quote_id)))


class MoneyThrottled:
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"


class FxConversionInput(StrictSerializer):
    quote = serializers.CharField(max_length=64)


class ConversionCreateApi(MoneyThrottled, APIView):
    @extend_schema(
        operation_id="fx_conversions_create",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=FxConversionInput,
        responses={201: FxQuoteOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
        summary="Convert between your own wallets at a quote",
        description=(
            "Books one ledger entry: your source wallet pays, your target wallet receives "
            "what the quote said, the fee goes to the platform. 409 `quote_expired` / "
            "`quote_used`, 422 `insufficient_funds`, 403 `account_frozen`."
        ),
    )
    @idempotent_api("fx.conversions", one_transaction=True)
    def post(self, request):
        data = parse(FxConversionInput, request.data)
        quote = services.fx_conversion_execute(user=request.user, quote_id=data["quote"])
        return Response(quote_payload(quote), status=201)


class FxTransferInput(StrictSerializer):
    quote = serializers.CharField(max_length=64)
    to = serializers.CharField(max_length=64)
    # Length and characters are checked by the wallet's note rule (invalid_note).
    note = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, trim_whitespace=False
    )


class TransferCreateApi(MoneyThrottled, APIView):
    @extend_schema(
        operation_id="fx_transfers_create",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=FxTransferInput,
        responses={201: FxQuoteOutput, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
        summary="Send money abroad: the recipient receives in their home currency",
        description=(
            "The quote's target currency must be the recipient's home currency (quote with "
            "`to` to get it). Unknown, deactivated and blocked recipients all answer 404. "
            "409 `quote_expired` / `quote_used`; 422 `insufficient_funds`, "
            "`recipient_currency_mismatch`, `limit_exceeded`; 403 `account_frozen`, and 403 "
            "`reauthentication_required` above the large-transfer threshold (as `/transfers`)."
        ),
    )
    @idempotent_api("fx.transfers", one_transaction=True)
    def post(self, request):
        data = parse(FxTransferInput, request.data)
        quote = services.fx_transfer_execute(
            user=request.user,
            quote_id=data["quote"],
            to=data["to"],
            note=data.get("note", ""),
            reauthenticated=payer_reauthenticated(request),
        )
        return Response(quote_payload(quote), status=201)


class FxRatesOutput(serializers.Serializer):
    source = serializers.CharField()
    base = serializers.CharField()
    as_of = serializers.DateTimeField()
    rates = serializers.DictField(child=serializers.CharField())


class RatesApi(APIView):
    @extend_schema(
        operation_id="fx_rates_get",
        responses={200: FxRatesOutput, 503: ERROR},
        summary="The current mid-market rates (503 rate_stale when too old to use)",
    )
    def get(self, request):
        snapshot = services.fx_rates_current()
        return Response(
            {
                "source": snapshot.source,
                "base": snapshot.base,
                "as_of": snapshot.as_of,
                "rates": snapshot.rates,
            }
        )


class FxHomeCurrencyInput(StrictSerializer):
    currency = serializers.CharField(max_length=8, trim_whitespace=False)


class HomeCurrencyApi(APIView):
    @extend_schema(
        operation_id="fx_home_currency_set",
        request=FxHomeCurrencyInput,
        responses={
            200: inline_serializer("FxHomeCurrency", {"currency": serializers.CharField()}),
            400: ERROR,
            422: ERROR,
        },
        summary="Choose the currency you receive cross-border payments in",
    )
    def post(self, request):
        data = parse(FxHomeCurrencyInput, request.data)
        user = services.fx_home_currency_set(user=request.user, currency=data["currency"])
        return Response({"currency": user.home_currency})
