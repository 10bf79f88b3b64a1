"""REST API of payment links (mounted under /api/v1/).

``POST /links`` creates one, ``GET /links`` lists the caller's; ``GET /links/{slug}`` is
public (who is paid, the amount, the fee lines — never who paid); ``POST
/links/{slug}/pay`` pays it from the wallet, one transaction with its idempotency record
(``Idempotency-Key`` required); ``POST /links/{slug}/deactivate`` and ``GET
/links/{slug}/payments`` are the owner's (anyone else gets 404). Every bad input is a 4xx
with a stable code and writes nothing; every endpoint is rate limited (scope ``links``).
"""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ERROR
from accounts.api_inputs import StrictSerializer, parse
from core.api.pagination import LIST_PARAMETERS, CursorPagination
from core.api.throttling import AnonRateThrottle, UserRateThrottle
from core.idempotency import idempotent_api
from core.money import Money
from payments.creators.api import RawField
from payments.links import api_outputs as out
from payments.links import errors, selectors, services
from payments.links.models import LinkPayment, PaymentLink
from payments.links.throttle import SCOPE, LinksThrottle
from payments.wallets.payer import payer_reauthenticated


def _money(amount: int | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def link_public_dict(link: PaymentLink) -> dict:
    """What anyone with the link may read."""
    data = {
        "object": "payment_link",
        "slug": link.slug,
        "owner": {"handle": link.owner.handle, "display_name": link.owner.display_name},
        "kind": link.kind,
        "amount": _money(link.amount, link.currency),
        "min_amount": _money(link.min_amount, link.currency),
        "currency": link.currency,
        "note": link.note,
        "expires_at": link.expires_at,
        "active": link.active,
    }
    if link.kind == PaymentLink.Kind.FIXED:
        data["fees"] = services.link_quote(link=link).as_dict()
    return data


def link_owner_dict(link: PaymentLink) -> dict:
    if not hasattr(link, "paid_count"):  # a link just created or deactivated
        link = selectors.links_with_totals(PaymentLink.objects.filter(pk=link.pk)).get()
    data = link_public_dict(link)
    data.update(
        max_uses=link.max_uses,
        uses=link.uses,
        paid_count=link.paid_count,
        paid_total=_money(link.paid_total, link.currency),
        created_at=link.created_at,
        deactivated_at=link.deactivated_at,
    )
    return data


def payment_dict(payment: LinkPayment) -> dict:
    return {
        "object": "link_payment",
        "id": payment.pk,
        "link": payment.link.slug,
        "amount": _money(payment.amount, payment.currency),
        "fee": _money(payment.fee, payment.currency),
        "net": _money(payment.net, payment.currency),
        "message": payment.message,
        "status": payment.status,
        "entry": payment.entry_id,
        "created_at": payment.created_at,
    }


def _money_or_none(value: Any, currency: Any) -> Money | None:
    if value is None:
        return None
    return Money.from_minor(value, currency)


class LinkInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=PaymentLink.Kind.values)
    currency = RawField()
    amount = RawField(required=False, help_text="Minor units (fixed links).")
    min_amount = RawField(required=False, help_text="Minor units (pay-what-you-want links).")
    note = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    expires_at = serializers.CharField(max_length=40, required=False, allow_null=True)
    max_uses = RawField(required=False)


class PayInput(StrictSerializer):
    amount = RawField(required=False, help_text="Minor units; only for pay-what-you-want links.")
    currency = RawField(required=False)
    message = serializers.CharField(max_length=1000, allow_blank=True, required=False)


class _Throttled(APIView):
    throttle_classes = [AnonRateThrottle, UserRateThrottle, LinksThrottle]
    throttle_scope = SCOPE


class LinkListCreateApi(_Throttled):
    @extend_schema(
        operation_id="links_list",
        parameters=LIST_PARAMETERS,
        responses={200: out.LINKS},
        summary="Your payment links",
    )
    def get(self, request):
        return CursorPagination().respond(
            selectors.links_of_owner(owner=request.user),
            request,
            view=self,
            render=lambda page: [link_owner_dict(link) for link in page],
        )

    @extend_schema(
        operation_id="links_create",
        request=LinkInput,
        responses={201: out.LINK_OWNER, 400: ERROR, 409: ERROR, 422: ERROR, 429: ERROR},
        summary="Create a payment link (fixed amount or pay what you want)",
    )
    def post(self, request):
        data = parse(LinkInput, request.data)
        expires_at = None
        if data.get("expires_at"):
            expires_at = parse_datetime(data["expires_at"])
            if expires_at is None or expires_at.tzinfo is None:
                raise errors.InvalidExpiry()
        link = services.link_create(
            owner=request.user,
            kind=data["kind"],
            currency=data["currency"],
            amount=_money_or_none(data.get("amount"), data["currency"]),
            min_amount=_money_or_none(data.get("min_amount"), data["currency"]),
            note=data.get("note", ""),
            expires_at=expires_at,
            max_uses=data.get("max_uses"),
        )
        return Response(link_owner_dict(link), status=status.HTTP_201_CREATED)


class LinkDetailApi(_Throttled):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="links_get",
        responses={200: out.LINK_PUBLIC, 404: ERROR},
        summary="A payment link as a visitor sees it: who is paid, the amount and the fee lines",
    )
    def get(self, request, slug: str):
        return Response(link_public_dict(services.link_get(slug=slug)))


class LinkPayApi(_Throttled):
    @extend_schema(
        operation_id="links_pay",
        request=PayInput,
        responses={
            201: out.PAYMENT,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
            410: ERROR,
            422: ERROR,
            429: ERROR,
        },
        summary="Pay a payment link from the wallet",
    )
    @idempotent_api("links.pay", one_transaction=True)
    def post(self, request, slug: str):
        data = parse(PayInput, request.data)
        amount = None
        if "amount" in data:
            amount = Money.from_minor(data["amount"], data.get("currency"))
        payment = services.link_pay(
            payer=request.user,
            slug=slug,
            amount=amount,
            message=data.get("message", ""),
            request_key=request.idempotency_key,
            reauthenticated=payer_reauthenticated(request),
        )
        return Response(payment_dict(payment), status=status.HTTP_201_CREATED)


class LinkDeactivateApi(_Throttled):
    @extend_schema(
        operation_id="links_deactivate",
        request=None,
        responses={200: out.LINK_OWNER, 404: ERROR},
        summary="Deactivate one of your links: it takes no more payments",
    )
    def post(self, request, slug: str):
        if request.data:
            parse(StrictSerializer, request.data)
        return Response(link_owner_dict(services.link_deactivate(owner=request.user, slug=slug)))


class LinkPaymentsApi(_Throttled):
    @extend_schema(
        operation_id="links_payments",
        parameters=LIST_PARAMETERS,
        responses={200: out.PAYMENTS, 404: ERROR},
        summary="The payments made through one of your links",
    )
    def get(self, request, slug: str):
        return CursorPagination().respond(
            selectors.link_payments(owner=request.user, slug=slug),
            request,
            view=self,
            render=lambda page: [{**payment_dict(p), "payer": p.payer.handle} for p in page],
        )
