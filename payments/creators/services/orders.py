"""Products on posts and orders with escrow.

An order's money goes into escrow when it is paid (D wallet:buyer · C escrow), to the
seller when the buyer confirms delivery or the window passes (D escrow · C wallet:seller
net · C fees), or back to the buyer on a refund before that (D escrow · C wallet:buyer).
Each step is one transaction of the package's shape, deciding on the order's locked row.

Stock is taken with ``UPDATE … SET stock = stock - q WHERE stock >= q`` in the paying
transaction, so concurrent buyers can never oversell, and a refused payment (its
transaction rolled back) never took any.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.money import CurrencyMismatch, Money
from core.text import text_clean
from ledger import chart
from ledger.errors import InsufficientFunds
from ledger.services import credit, debit, entry_post
from payments.creators import errors
from payments.creators.fees import fee_quote
from payments.creators.models import (
    ADDRESS_MAX_LENGTH,
    PRODUCT_DESCRIPTION_MAX_LENGTH,
    PRODUCT_STOCK_MAX,
    PRODUCT_TITLE_MAX_LENGTH,
    Order,
    OrderRefund,
    PayStatus,
    Product,
)
from payments.creators.services.common import (
    MAX_ORDER_QUANTITY,
    SWEEP_BATCH,
    amount_check,
    message_clean,
    payee_check,
    payment_insert,
    post_get_for_payment,
    product_get_for_order,
    split_entry,
)
from payments.wallets.events import EventSpec, event_emit, event_spec
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSide, payment_receipts
from posts.images import PreparedImage, image_content


# --- products -------------------------------------------------------------------------------
def product_check(
    *,
    title: str,
    description: str,
    price: Money,
    stock: int,
    kind: str,
    delivery_url: str = "",
) -> dict:
    """Validate a product before anything is written; returns the cleaned fields (the
    ``Product`` columns). Raises ``AmountOutOfRange``, ``InvalidChoice``, text errors."""
    title = text_clean(value=title, max_length=PRODUCT_TITLE_MAX_LENGTH, field="title")
    if not title:
        raise errors.InvalidChoice("The title is empty.", details={"field": "title"})
    description = text_clean(
        value=description or "", max_length=PRODUCT_DESCRIPTION_MAX_LENGTH, field="description"
    )
    amount_check(money=price)
    if type(stock) is not int or not 0 <= stock <= PRODUCT_STOCK_MAX:
        raise errors.InvalidChoice(
            f"Stock is a whole number from 0 to {PRODUCT_STOCK_MAX}.", details={"field": "stock"}
        )
    if kind not in Product.Kind.values:
        raise errors.InvalidChoice(details={"field": "kind"})
    delivery_url = text_clean(value=delivery_url or "", max_length=500, field="delivery_url")
    if delivery_url and not delivery_url.startswith("https://"):
        raise errors.InvalidChoice("The delivery link must be https.", details={"field": "url"})
    return {
        "title": title,
        "description": description,
        "price_amount": price.amount,
        "price_currency": price.currency,
        "stock": stock,
        "kind": kind,
        "delivery_url": delivery_url,
    }


def product_create(
    *,
    seller: User,
    post_id: int,
    title: str,
    description: str,
    price: Money,
    stock: int,
    kind: str,
    delivery_url: str = "",
    photo: PreparedImage | None = None,
) -> Product:
    """Attach a product to the seller's own post, with its photo when given (re-encoded
    by ``posts.images.image_prepare``). Raises ``PostNotFound``, ``NotYourPost`` and what
    ``product_check`` raises."""
    post = post_get_for_payment(post_id)
    if post.author_id != seller.pk:
        raise errors.NotYourPost()
    fields = product_check(
        title=title,
        description=description,
        price=price,
        stock=stock,
        kind=kind,
        delivery_url=delivery_url,
    )
    product = Product(post=post, seller=seller, **fields)
    if photo is not None:
        # Storage is not transactional: the file is written before the row, so a rollback
        # leaves at most an orphan file, never a row pointing at a missing one.
        content = image_content(photo)
        product.photo.save(content.name, content, save=False)
        product.photo_width, product.photo_height = photo.width, photo.height
        product.photo_alt = photo.alt
    product.save(force_insert=True)
    return product


def _release_window() -> timedelta:
    return timedelta(hours=settings.CREATOR_ESCROW_RELEASE_HOURS)


# --- paying ---------------------------------------------------------------------------------
# The two updates of every order, as plain statements: the ORM's ``update()`` compiled
# the same SQL again on every order (about 0.3 ms of CPU each).
_STOCK_TAKE_SQL = (
    f"UPDATE {Product._meta.db_table} SET stock = stock - %s"  # noqa: S608
    " WHERE id = %s AND is_active AND stock >= %s"
)
_ORDER_PAID_SQL = (
    f"UPDATE {Order._meta.db_table} SET status = %s, payment_entry_id = %s, paid_at = %s,"  # noqa: S608
    " release_after = %s WHERE id = %s"
)


def order_create(
    *,
    buyer: User,
    product_id: int,
    quantity: int,
    request_key: str,
    shipping_address: str = "",
    reauthenticated: bool | None = None,
) -> Order:
    """Buy ``quantity`` of a product; the money goes into escrow.

    One transaction: the payer check and limit reservation, the stock taken, the order
    row, the entry (D wallet:buyer · C escrow), the order paid, the receipts.
    ``request_key`` makes a retry return the first order.
    Locks: the buyer's user row (share) and ``SendLimit`` row, the product row, the
    buyer's wallet.
    Raises ``ProductNotFound`` (blocked too), ``CannotPaySelf``, ``InvalidQuantity``,
    ``ShippingAddressRequired``, ``OutOfStock``, ``AccountFrozen``,
    ``LimitExceeded``/``VelocityExceeded``, ``ReauthenticationRequired``,
    ``InsufficientFunds``.
    """
    product = product_get_for_order(product_id, buyer=buyer)
    if product.seller_id == buyer.pk:
        raise errors.CannotPaySelf()
    payee_check(
        payer=buyer,
        payee=product.seller,
        not_found=errors.ProductNotFound,
        blocked=product.payer_blocked,
    )
    if type(quantity) is not int or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise errors.InvalidQuantity()
    address = text_clean(
        value=shipping_address or "", max_length=ADDRESS_MAX_LENGTH, field="shipping_address"
    )
    if product.kind == Product.Kind.PHYSICAL and not address:
        raise errors.ShippingAddressRequired()
    if product.kind == Product.Kind.DIGITAL:
        address = ""
    total = amount_check(money=Money(product.price_amount * quantity, product.price_currency))
    with transaction.atomic():
        # The row first: a retry with a used request key stops here at the unique key and
        # gets the first order back, without a lookup before every first attempt and
        # without meeting the limits or the stock it already took. A refusal further on
        # rolls the row back (this block is a savepoint inside a caller's transaction).
        order = Order(
            product=product,
            buyer=buyer,
            seller=product.seller,
            quantity=quantity,
            unit_price=product.price_amount,
            amount=total.amount,
            currency=total.currency,
            shipping_address=address,
            request_key=request_key,
        )
        if not payment_insert(order, key="order_request_once"):
            return _paid_or_raise(_order_of(buyer=buyer, request_key=request_key))
        payer_check(payer_id=buyer.pk, money=total, reauthenticated=reauthenticated, reserve=True)
        with connection.cursor() as cur:
            cur.execute(_STOCK_TAKE_SQL, [quantity, product.pk, quantity])
            if not cur.rowcount:
                raise errors.OutOfStock()
        entry = entry_post(
            code="creator.order.pay",
            idempotency_key=f"creators:order:{order.pk}:pay",
            postings=[
                debit(chart.wallet_key(buyer.pk, order.currency), total),
                credit(chart.escrow_key(order.currency), total),
            ],
            reference=f"order:{order.pk}",
            metadata={"product": product.pk, "quantity": quantity},
        )
        now = timezone.now()
        # Digital goods are delivered now; physical ones start the clock when shipped.
        release_after = now + _release_window() if product.kind == Product.Kind.DIGITAL else None
        with connection.cursor() as cur:
            cur.execute(
                _ORDER_PAID_SQL, [Order.Status.PAID, entry.pk, now, release_after, order.pk]
            )
        order.status, order.payment_entry, order.paid_at = Order.Status.PAID, entry, now
        order.release_after = release_after
        _paid_receipts(order=order, buyer=buyer, seller=product.seller, product=product)
    return order


def _order_of(*, buyer: User, request_key: str) -> Order:
    """The order ``buyer`` placed with ``request_key`` (committed: its key was taken)."""
    return Order.objects.select_related("product", "buyer", "seller").get(
        buyer=buyer, request_key=request_key
    )


def _paid_or_raise(order: Order) -> Order:
    if order.status == Order.Status.FAILED:
        if order.failure_code == InsufficientFunds.code:
            raise InsufficientFunds()
        raise errors.PaymentFailed(details={"reason": order.failure_code})
    return order


def _order_event_specs(kind: str, order: Order, **extra) -> list[EventSpec | None]:
    """The order's webhook event, to the seller and to the buyer. No shipping address:
    the seller reads it in the app (the order id is in the event)."""
    data = {
        "order": order.pk,
        "product": order.product_id,
        "quantity": order.quantity,
        "amount": Money(order.amount, order.currency).as_dict(),
        "status": order.status,
        **extra,
    }
    return [event_spec(kind, order.seller_id, data), event_spec(kind, order.buyer_id, data)]


def _order_event(kind: str, order: Order, **extra) -> None:
    for spec in _order_event_specs(kind, order, **extra):
        if spec is not None:
            event_emit(spec.kind, spec.user_id, spec.payload)


def _paid_receipts(*, order: Order, buyer: User, seller: User, product: Product) -> None:
    payment_receipts(
        # The webhook events go in the receipts' own statement (a transfer's shape).
        events=_order_event_specs("order.paid", order, buyer=buyer.handle, seller=seller.handle),
        event=f"order:{order.pk}:paid",
        target_type="order",
        target_id=order.pk,
        money=Money(order.amount, order.currency),
        data={"order": order.pk, "amount": order.amount, "currency": order.currency},
        params={"order": order.pk, "quantity": order.quantity, "product": product.title},
        sides=[
            ReceiptSide(
                role="seller",
                user=seller,
                other=buyer,
                kind="order_received",
                subject=_("@%(handle)s ordered %(product)s (order #%(order)d)"),
                body=[
                    _(
                        "@%(handle)s ordered %(quantity)d of %(product)s for %(amount)s (order "
                        "#%(order)d). The money is held until delivery."
                    )
                ],
                text=_("ordered %(quantity)d of %(product)s (order #%(order)d)"),
            ),
            ReceiptSide(
                role="buyer",
                user=buyer,
                other=seller,
                kind="order_paid",
                subject=_("Your order #%(order)d: %(amount)s held until delivery"),
                body=[
                    _(
                        "You paid %(amount)s for %(quantity)d of %(product)s (order #%(order)d). "
                        "The money is held until delivery."
                    )
                ],
                text=_("— you paid %(amount)s for order #%(order)d, held until delivery."),
            ),
        ],
    )


# --- after payment --------------------------------------------------------------------------
def _order_for(*, order_id: int, user: User, role: str) -> Order:
    field = "seller_id" if role == "seller" else "buyer_id"
    order = Order.objects.filter(pk=order_id, **{field: user.pk}).first()
    if order is None:
        raise errors.OrderNotFound()
    return order


def _order_lock(order_id: int) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("product", "buyer", "seller")
        .get(pk=order_id)
    )


def order_ship(*, seller: User, order_id: int) -> Order:
    """The seller marks a paid physical order shipped; the release window starts now.
    Locks the order row. Raises ``OrderNotFound`` (also for other people's orders),
    ``OrderStateConflict``."""
    _order_for(order_id=order_id, user=seller, role="seller")
    with transaction.atomic():
        order = _order_lock(order_id)
        if order.status != Order.Status.PAID or order.product.kind != Product.Kind.PHYSICAL:
            raise errors.OrderStateConflict(details={"status": order.status})
        now = timezone.now()
        order.status = Order.Status.SHIPPED
        order.shipped_at = now
        order.release_after = now + _release_window()
        order.save(update_fields=["status", "shipped_at", "release_after"])
        _order_event("order.shipped", order)
        payment_receipts(
            event=f"order:{order.pk}:shipped",
            target_type="order",
            target_id=order.pk,
            money=None,
            data={"order": order.pk},
            params={"order": order.pk},
            sides=[
                ReceiptSide(
                    role="buyer",
                    user=order.buyer,
                    other=order.seller,
                    kind="order_shipped",
                    subject=_("@%(handle)s shipped your order #%(order)d"),
                    body=[_("@%(handle)s shipped your order #%(order)d.")],
                    text=_("shipped your order #%(order)d"),
                )
            ],
        )
    return order


def order_confirm(*, buyer: User, order_id: int) -> Order:
    """The buyer confirms delivery: the escrow is released to the seller now."""
    order = _order_for(order_id=order_id, user=buyer, role="buyer")
    if order.status not in (*Order.IN_ESCROW, Order.Status.RELEASING):
        raise errors.OrderStateConflict(details={"status": order.status})
    order = order_release(order_id=order.pk)
    if order.status != Order.Status.RELEASED:
        raise errors.OrderStateConflict(details={"status": order.status})
    return order


def order_release(*, order_id: int) -> Order:
    """Release an order's escrow to the seller (net) and the platform (fee), in one
    transaction on the locked order. Idempotent: an order already released, refunded or
    failed is returned unchanged. (``releasing`` is a state only older rows can be in;
    they are released like paid ones.)"""
    with transaction.atomic():
        order = _order_lock(order_id)
        if order.status not in (*Order.IN_ESCROW, Order.Status.RELEASING):
            return order
        quote = fee_quote(
            kind="sale", gross=Money(order.amount - order.refunded_amount, order.currency)
        )
        entry = split_entry(
            code="creator.order.release",
            idempotency_key=f"creators:order:{order.pk}:release",
            payer_key=chart.escrow_key(order.currency),
            payee_key=chart.wallet_key(order.seller_id, order.currency),
            quote=quote,
            reference=f"order:{order.pk}",
            metadata={},
        )
        order.status = Order.Status.RELEASED
        order.release_entry = entry
        order.fee = quote.fee.amount
        order.finished_at = timezone.now()
        order.save(update_fields=["status", "release_entry", "fee", "finished_at"])
        payment_receipts(
            event=f"order:{order.pk}:released",
            target_type="order",
            target_id=order.pk,
            money=quote.net,
            data={"order": order.pk, "amount": quote.net.amount, "currency": order.currency},
            params={"order": order.pk},
            sides=[
                ReceiptSide(
                    role="seller",
                    user=order.seller,
                    kind="order_released",
                    subject=_("Order #%(order)d completed: payment released"),
                    body=[_("Order #%(order)d completed: %(amount)s is in your wallet.")],
                    text=_("Order #%(order)d completed: payment released"),
                )
            ],
        )
    return order


def orders_release_due(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Release every order whose window has passed (Celery beat). Returns how many."""
    now = now or timezone.now()
    ids = list(
        Order.objects.filter(status__in=Order.IN_ESCROW, release_after__lte=now)
        .order_by("release_after")
        .values_list("pk", flat=True)[:limit]
    )
    released = 0
    for order_id in ids:
        if order_release(order_id=order_id).status == Order.Status.RELEASED:
            released += 1
    return released


def order_refund(
    *, seller: User, order_id: int, amount: Money | None = None, reason: str = ""
) -> OrderRefund:
    """Refund all (``amount`` None) or part of an order before its escrow is released.

    One transaction on the locked order: the refund row, the order's refunded amount (and
    its stock back on a full refund), the entry (D escrow · C wallet:buyer), the refund
    completed, the buyer's receipt. Locks: the order row, then the product row.
    Raises ``OrderNotFound``, ``OrderStateConflict``, ``RefundTooLarge``,
    ``AmountOutOfRange``, ``CurrencyMismatch``.
    """
    _order_for(order_id=order_id, user=seller, role="seller")
    reason = message_clean(reason, field="reason")
    with transaction.atomic():
        order = _order_lock(order_id)
        if order.status not in Order.IN_ESCROW:
            raise errors.OrderStateConflict(details={"status": order.status})
        remaining = Money(order.amount - order.refunded_amount, order.currency)
        refund_money = remaining if amount is None else amount
        if refund_money.currency != order.currency:
            raise CurrencyMismatch(details={"currency": order.currency})
        if refund_money.amount <= 0:
            raise errors.AmountOutOfRange(details={"min": 1})
        if refund_money.amount > remaining.amount:
            raise errors.RefundTooLarge(details={"remaining": remaining.as_dict()})
        order.refunded_amount += refund_money.amount
        fields = ["refunded_amount"]
        if order.refunded_amount == order.amount:
            order.status = Order.Status.REFUNDED
            order.finished_at = timezone.now()
            fields += ["status", "finished_at"]
            # A full refund undoes the sale, so its items go back on sale: one UPDATE adding
            # the quantity to the current stock (never a read-modify-write of a stale value;
            # concurrent buyers' ``stock >= q`` UPDATEs queue behind its row lock). It runs
            # once: only the refund that moves the locked order to ``refunded`` gets here.
            # Partial refunds keep the stock as it is (the buyer keeps the item).
            Product.objects.filter(pk=order.product_id).update(
                stock=Least(F("stock") + order.quantity, PRODUCT_STOCK_MAX)
            )
        order.save(update_fields=fields)
        refund = OrderRefund.objects.create(
            order=order, amount=refund_money.amount, currency=order.currency, reason=reason
        )
        refund.entry = entry_post(
            code="creator.order.refund",
            idempotency_key=f"creators:order-refund:{refund.pk}",
            postings=[
                debit(chart.escrow_key(order.currency), refund_money),
                credit(chart.wallet_key(order.buyer_id, order.currency), refund_money),
            ],
            reference=f"order:{order.pk}",
            metadata={"refund": refund.pk},
        )
        refund.status = PayStatus.COMPLETED
        refund.save(update_fields=["status", "entry"])
        _order_event(
            "order.refunded",
            order,
            refund={"id": refund.pk, "amount": refund_money.as_dict()},
        )
        payment_receipts(
            event=f"order-refund:{refund.pk}",
            target_type="order",
            target_id=order.pk,
            money=refund_money,
            data={"order": order.pk, "amount": refund.amount, "currency": refund.currency},
            params={"order": order.pk},
            sides=[
                ReceiptSide(
                    role="buyer",
                    user=order.buyer,
                    other=order.seller,
                    kind="order_refunded",
                    subject=_("@%(handle)s refunded %(amount)s of order #%(order)d"),
                    body=[_("@%(handle)s refunded %(amount)s of order #%(order)d to your wallet.")],
                    text=_("refunded %(amount)s of order #%(order)d"),
                )
            ],
        )
    return refund
