"""REST API of the creator flows (mounted under /api/v1/): tips, unlocks, products,
orders (ship / confirm / refund), membership tiers and memberships, dashboard data.

Every money POST is ``@idempotent_api``. Those without a processor call (wallet tips,
unlocks, orders and their ship / confirm / refund, memberships) run in one transaction with
their idempotency record, like P2P transfers: the payment and the stored response commit
together. Card tips call the processor, so their record is claimed and completed around
the call. Payments pass what the token or session proved (``payer_reauthenticated``): large
ones answer 403 ``reauthentication_required`` without a recent re-authentication. Other
people's orders and memberships answer 404 exactly like missing ones; every bad input is a
4xx with a stable code.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ERROR
from accounts.api_inputs import StrictIntegerField, StrictSerializer, parse
from core.api.pagination import LIST_PARAMETERS, CursorPagination
from core.idempotency import idempotent_api, idempotent_dispatch
from core.money import InvalidAmount, Money
from payments.creators import api_outputs as out
from payments.creators import selectors, services
from payments.creators.errors import OrderNotFound
from payments.creators.models import Membership, MembershipTier, Order, Product, Tip, Unlock
from payments.wallets.payer import payer_reauthenticated


@extend_schema_field(OpenApiTypes.ANY)
class RawField(serializers.Field):
    """Passes the parsed JSON value through; ``Money.from_minor`` judges it with its own
    stable codes (a float, a string or a bool amount is ``invalid_amount``)."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


def money_from_payload(value: Any) -> Money:
    """``{"amount": 1050, "currency": "USD"}`` → Money (strict: extra keys refused)."""
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise InvalidAmount(_("A price is an object {amount, currency} in minor units."))
    return Money.from_minor(value["amount"], value["currency"])


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def tip_dict(tip: Tip) -> dict:
    return {
        "object": "tip",
        "id": tip.pk,
        "post": tip.post_id,
        "creator": tip.creator.handle,
        "amount": _money(tip.amount, tip.currency),
        "fee": _money(tip.fee, tip.currency),
        "net": _money(tip.net, tip.currency),
        "note": tip.message,
        "visibility": tip.visibility,
        "show_amount": tip.show_amount,
        "status": tip.status,
        "entry": tip.entry_id,
        "created_at": tip.created_at,
    }


def unlock_dict(unlock: Unlock) -> dict:
    return {
        "object": "unlock",
        "id": unlock.pk,
        "post": unlock.post_id,
        "amount": _money(unlock.amount, unlock.currency),
        "fee": _money(unlock.fee, unlock.currency),
        "status": unlock.status,
        "entry": unlock.entry_id,
        "locked_text": unlock.post.locked_text if unlock.status == "completed" else None,
        "created_at": unlock.created_at,
    }


def product_dict(product: Product) -> dict:
    return {
        "object": "product",
        "id": product.pk,
        "post": product.post_id,
        "title": product.title,
        "description": product.description,
        "price": _money(product.price_amount, product.price_currency),
        "stock": product.stock,
        "kind": product.kind,
    }


def order_dict(order: Order, viewer) -> dict:
    data = {
        "object": "order",
        "id": order.pk,
        "product": order.product_id,
        "title": order.product.title,
        "kind": order.product.kind,
        "quantity": order.quantity,
        "amount": _money(order.amount, order.currency),
        "refunded": _money(order.refunded_amount, order.currency),
        "in_escrow": _money(order.in_escrow, order.currency),
        "status": order.status,
        "buyer": order.buyer.handle,
        "seller": order.seller.handle,
        "release_after": order.release_after,
        "created_at": order.created_at,
    }
    if order.seller_id == viewer.pk:
        data["shipping_address"] = order.shipping_address
        data["fee"] = _money(order.fee, order.currency)
    if selectors.order_delivery_visible(order=order, viewer=viewer):
        data["delivery_url"] = order.product.delivery_url or None
    return data


def membership_dict(m: Membership) -> dict:
    return {
        "object": "membership",
        "id": m.pk,
        "tier": m.tier_id,
        "tier_name": m.tier.name,
        "creator": m.creator.handle,
        "price": _money(m.tier.price_amount, m.tier.price_currency),
        "status": m.status,
        "current_period_end": m.current_period_end,
        "grace_until": m.grace_until,
        "cancel_at_period_end": m.cancel_at_period_end,
    }


def tier_dict(t: MembershipTier) -> dict:
    return {
        "object": "membership_tier",
        "id": t.pk,
        "creator": t.creator.handle,
        "name": t.name,
        "price": _money(t.price_amount, t.price_currency),
        "perks": t.perks,
    }


# --- tips -----------------------------------------------------------------------------------
class TipInput(StrictSerializer):
    amount = RawField()
    currency = RawField()
    note = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    visibility = serializers.CharField(max_length=20, required=False)
    show_amount = serializers.BooleanField(required=False)
    payment_method = serializers.CharField(
        max_length=255,
        required=False,
        help_text="A processor card token (pm_card_visa in the sandbox): pay by card.",
    )


def _tip(request, *, post_id: int | None = None, handle: str | None = None) -> Response:
    data = parse(TipInput, request.data)
    tip = services.tip_send(
        tipper=request.user,
        post_id=post_id,
        creator_handle=handle,
        amount=Money.from_minor(data["amount"], data["currency"]),
        payment_method=data.get("payment_method"),
        request_key=request.idempotency_key,
        message=data.get("note", ""),
        visibility=data.get("visibility", "private"),
        show_amount=data.get("show_amount", False),
        reauthenticated=payer_reauthenticated(request),
    )
    code = status.HTTP_201_CREATED if tip.status == "completed" else status.HTTP_202_ACCEPTED
    return Response(tip_dict(tip), status=code)


class _TipApi(APIView):
    """A tip from the wallet is one transaction with its idempotency record; a tip by card
    (``payment_method``) calls the processor, so its record is kept around the call."""

    def _dispatch_tip(self, request, **target) -> Response:
        by_card = isinstance(request.data, dict) and "payment_method" in request.data
        return (self._by_card if by_card else self._from_wallet)(request, **target)

    @idempotent_api("creators.tip", one_transaction=True)
    def _from_wallet(self, request, **target):
        return _tip(request, **target)

    @idempotent_api("creators.tip")
    def _by_card(self, request, **target):
        return _tip(request, **target)


class PostTipsApi(_TipApi):
    @extend_schema(
        operation_id="posts_tips_list",
        parameters=LIST_PARAMETERS,
        responses={200: out.PUBLIC_TIPS, 404: ERROR},
    )
    def get(self, request, post_id: int):
        services.post_get_for_payment(post_id)
        return CursorPagination().respond(
            selectors.post_tips_public(post_id=post_id),
            request,
            view=self,
            render=lambda page: [selectors.tip_public_dict(t) for t in page],
        )

    @extend_schema(
        operation_id="posts_tip",
        request=TipInput,
        responses={
            201: out.TIP,
            202: out.TIP,
            400: ERROR,
            402: ERROR,
            403: ERROR,
            404: ERROR,
            422: ERROR,
        },
        summary="Tip the author of a post from the wallet (or by card)",
        examples=out.TIP_EXAMPLES,
    )
    @idempotent_dispatch("creators.tip")
    def post(self, request, post_id: int):
        return self._dispatch_tip(request, post_id=post_id)


class UserTipsApi(_TipApi):
    @extend_schema(
        operation_id="users_tip",
        request=TipInput,
        responses={201: out.TIP, 202: out.TIP, 403: ERROR, 404: ERROR},
        examples=out.TIP_EXAMPLES,
    )
    @idempotent_dispatch("creators.tip")
    def post(self, request, handle: str):
        return self._dispatch_tip(request, handle=handle)


# --- unlocks --------------------------------------------------------------------------------
class PostUnlockApi(APIView):
    @extend_schema(
        operation_id="posts_unlock",
        request=None,
        responses={
            200: out.UNLOCK,
            201: out.UNLOCK,
            403: ERROR,
            404: ERROR,
            409: ERROR,
            422: ERROR,
        },
        summary="Buy access to a post's locked content (once)",
    )
    @idempotent_api("creators.unlock", one_transaction=True)
    def post(self, request, post_id: int):
        if request.data:
            parse(StrictSerializer, request.data)
        unlock, created = services.unlock_purchase(
            buyer=request.user, post_id=post_id, reauthenticated=payer_reauthenticated(request)
        )
        return Response(
            unlock_dict(unlock), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


# --- products and orders --------------------------------------------------------------------
class ProductInput(StrictSerializer):
    post = StrictIntegerField(min_value=1)
    title = serializers.CharField(max_length=1000, allow_blank=True)
    description = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    price = RawField()
    stock = StrictIntegerField(min_value=0, max_value=1_000_000)
    kind = serializers.CharField(max_length=20)
    delivery_url = serializers.CharField(max_length=1000, allow_blank=True, required=False)


class ProductListApi(APIView):
    @extend_schema(
        operation_id="products_create", request=ProductInput, responses={201: out.PRODUCT}
    )
    def post(self, request):
        data = parse(ProductInput, request.data)
        product = services.product_create(
            seller=request.user,
            post_id=data["post"],
            title=data["title"],
            description=data.get("description", ""),
            price=money_from_payload(data["price"]),
            stock=data["stock"],
            kind=data["kind"],
            delivery_url=data.get("delivery_url", ""),
        )
        return Response(product_dict(product), status=status.HTTP_201_CREATED)


class OrderInput(StrictSerializer):
    product = StrictIntegerField(min_value=1)
    quantity = StrictIntegerField(min_value=1, max_value=services.MAX_ORDER_QUANTITY)
    shipping_address = serializers.CharField(max_length=2000, allow_blank=True, required=False)


class OrderListApi(APIView):
    @extend_schema(
        operation_id="orders_list",
        parameters=[
            OpenApiParameter("role", str, enum=["buyer", "seller"], description="Default buyer."),
            *LIST_PARAMETERS,
        ],
        responses={200: out.ORDERS},
    )
    def get(self, request):
        role = "seller" if request.query_params.get("role") == "seller" else "buyer"
        return CursorPagination().respond(
            selectors.orders_for(user=request.user, role=role),
            request,
            view=self,
            render=lambda page: [order_dict(o, request.user) for o in page],
        )

    @extend_schema(
        operation_id="orders_create",
        request=OrderInput,
        responses={
            201: out.ORDER,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
            422: ERROR,
        },
        summary="Buy a product from a post; the money is held in escrow",
    )
    @idempotent_api("creators.order", one_transaction=True)
    def post(self, request):
        data = parse(OrderInput, request.data)
        order = services.order_create(
            buyer=request.user,
            product_id=data["product"],
            quantity=data["quantity"],
            shipping_address=data.get("shipping_address", ""),
            request_key=request.idempotency_key,
            reauthenticated=payer_reauthenticated(request),
        )  # with its product, buyer and seller: no second read for the answer
        return Response(order_dict(order, request.user), status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    @extend_schema(operation_id="orders_get", responses={200: out.ORDER, 404: ERROR})
    def get(self, request, order_id: int):
        order = selectors.order_get_for(user=request.user, order_id=order_id)
        if order is None:
            raise OrderNotFound()
        return Response(order_dict(order, request.user))


def _order_action(request, order_id: int, action) -> Response:
    if request.data:
        parse(StrictSerializer, request.data)
    action(order_id=order_id)
    order = selectors.order_get_for(user=request.user, order_id=order_id)
    return Response(order_dict(order, request.user))


class OrderShipApi(APIView):
    @extend_schema(operation_id="orders_ship", request=None, responses={200: out.ORDER, 404: ERROR})
    @idempotent_api("creators.order.ship", one_transaction=True)
    def post(self, request, order_id: int):
        return _order_action(
            request,
            order_id,
            lambda order_id: services.order_ship(seller=request.user, order_id=order_id),
        )


class OrderConfirmApi(APIView):
    @extend_schema(
        operation_id="orders_confirm",
        request=None,
        responses={200: out.ORDER, 404: ERROR},
    )
    @idempotent_api("creators.order.confirm", one_transaction=True)
    def post(self, request, order_id: int):
        return _order_action(
            request,
            order_id,
            lambda order_id: services.order_confirm(buyer=request.user, order_id=order_id),
        )


class RefundInput(StrictSerializer):
    amount = RawField(required=False)
    currency = RawField(required=False)
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False)


class OrderRefundApi(APIView):
    @extend_schema(
        operation_id="orders_refund",
        request=RefundInput,
        responses={200: out.ORDER, 404: ERROR, 409: ERROR, 422: ERROR},
        summary="Refund all (no amount) or part of an order before release",
    )
    @idempotent_api("creators.order.refund", one_transaction=True)
    def post(self, request, order_id: int):
        data = parse(RefundInput, request.data)
        amount = None
        if "amount" in data or "currency" in data:
            amount = Money.from_minor(data.get("amount"), data.get("currency"))
        services.order_refund(
            seller=request.user, order_id=order_id, amount=amount, reason=data.get("reason", "")
        )
        order = selectors.order_get_for(user=request.user, order_id=order_id)
        return Response(order_dict(order, request.user))


# --- memberships ----------------------------------------------------------------------------
class TierInput(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    price = RawField()
    perks = serializers.CharField(max_length=5000, allow_blank=True, required=False)


class TierListApi(APIView):
    @extend_schema(
        operation_id="membership_tiers_create",
        request=TierInput,
        responses={201: out.TIER},
    )
    def post(self, request):
        data = parse(TierInput, request.data)
        tier = services.tier_create(
            creator=request.user,
            name=data["name"],
            price=money_from_payload(data["price"]),
            perks=data.get("perks", ""),
        )
        return Response(tier_dict(tier), status=status.HTTP_201_CREATED)


class MembershipInput(StrictSerializer):
    tier = StrictIntegerField(min_value=1)


class MembershipListApi(APIView):
    @extend_schema(
        operation_id="memberships_list",
        parameters=LIST_PARAMETERS,
        responses={200: out.MEMBERSHIPS},
    )
    def get(self, request):
        return CursorPagination().respond(
            selectors.memberships_of(member=request.user),
            request,
            view=self,
            render=lambda page: [membership_dict(m) for m in page],
        )

    @extend_schema(
        operation_id="memberships_create",
        request=MembershipInput,
        responses={201: out.MEMBERSHIP, 403: ERROR, 404: ERROR, 409: ERROR, 422: ERROR},
        summary="Join a tier, paying the first month from the wallet",
    )
    @idempotent_api("creators.membership", one_transaction=True)
    def post(self, request):
        data = parse(MembershipInput, request.data)
        membership = services.membership_subscribe(
            member=request.user,
            tier_id=data["tier"],
            reauthenticated=payer_reauthenticated(request),
        )
        return Response(membership_dict(membership), status=status.HTTP_201_CREATED)


class MembershipCancelApi(APIView):
    @extend_schema(operation_id="memberships_cancel", request=None, responses={200: out.MEMBERSHIP})
    def post(self, request, membership_id: int):
        membership = services.membership_cancel(member=request.user, membership_id=membership_id)
        return Response(membership_dict(membership))


# --- dashboard ------------------------------------------------------------------------------
class DashboardApi(APIView):
    @extend_schema(operation_id="creator_dashboard", responses={200: out.DASHBOARD})
    def get(self, request):
        data = selectors.dashboard(creator=request.user)
        data["recent_sales"] = [order_dict(o, request.user) for o in data["recent_sales"]]
        data["recent_guest_sales"] = [
            {
                "object": "guest_sale",
                "id": g.pk,
                "product": g.product_id,
                "title": g.product.title,
                "amount": g.money.as_dict(),
                "shipping_name": g.shipping_name,
                "shipping_address": g.shipping_address,
                "completed_at": g.completed_at,
            }
            for g in data["recent_guest_sales"]
        ]
        # The selector's rows also feed the dashboard page; the API nests their money.
        data["top_supporters"] = [
            {"handle": row["handle"], "amount": _money(row["amount"], row["currency"])}
            for row in data["top_supporters"]
        ]
        data["pending_escrow"] = [
            {"amount": _money(row["amount"], row["currency"]), "orders": row["orders"]}
            for row in data["pending_escrow"]
        ]
        data["mrr"] = [_money(row["amount"], row["currency"]) for row in data["mrr"]]
        return Response(data)
