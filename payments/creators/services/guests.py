"""Guest payments by card: a visitor without an account tips a creator, unlocks one post,
buys a product (a physical one shipped to the address the guest gives) or pays a payment
link, with a processor card token.

No card number reaches us: the form sends a processor token (``pm_…``), as top-ups do.
The flow is the card tip's (``tips``), with the guest's e-mail in place of an account:

1. **Check and record the intent** (``guest_checkout_start``), in one durable transaction
   that first takes two advisory locks (the card's fingerprint, then the client's IP) and
   then counts: at most ``GUEST_PAYMENTS_PER_CARD`` attempts per card and
   ``GUEST_PAYMENTS_PER_IP`` per IP in ``GUEST_WINDOW_SECONDS`` (declines count: card
   testing is what these stop), and at most ``GUEST_TIP_CAP`` tipped per card in
   ``GUEST_TIP_CAP_WINDOW_SECONDS``. A refusal raises before anything is written (429 or
   422 with a stable code). A product's item is taken from stock in the same transaction
   (``OutOfStock`` if it is gone: two guests cannot pay for the last one). Otherwise the
   ``GuestPayment`` row (``created``, ``stock_reserved``) commits. The fingerprint comes
   from the processor (``card_fingerprint``) before any charge.
2. **Call the processor** (no transaction open) with the key ``guestpay:{id}`` and the row
   id in the metadata (``kind=guest_payment``), so a retry never charges twice and the
   webhook finds the row even before this call returns.
3. **Record the answer**: ``pending``; ``requires_action`` (3-D Secure, then
   ``guest_checkout_confirm``); ``failed`` on a decline (``CardDeclined``, 402).
4. **Settle on the webhook** (``guest_settle``, ``payment_intent.succeeded``): the
   processor's own record of the payment is read and checked against the row (same
   payment, amount, currency, platform account); then ONE transaction locks the row,
   books D processor_clearing gross · C wallet:creator net · C fees fee — the fee lines
   of the wallet payment of the same kind (tip and link at the tip rate, unlock at the
   unlock rate, a product at the sale rate) — with the key ``creators:guest:{id}``, marks
   the row ``completed`` (its reserved item sold), writes the creator's receipt
   to the outbox and marks the guest's e-mail receipt sent (the mail leaves after commit).
   A duplicate or early webhook, a reprocess or the sweeper finds the row completed (or
   the ledger key used) and credits nothing more. A payment that fails (a decline, a
   ``payment_failed`` webhook, an abandoned 3-D Secure the sweeper learns of) puts its
   reserved item back, once.

A guest's unlock or digital product is reached through a signed, expiring link
(``guest_access_token``; ``django.core.signing`` with its own salt). When someone verifies
the guest's e-mail on an account, ``guest_payments_claim`` gives them the purchases: their
list, and the unlocked posts on every timeline.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.language import in_language_of
from accounts.models import User
from core.money import Money
from core.text import text_clean
from ledger import chart
from payments.creators import errors
from payments.creators.fees import fee_quote
from payments.creators.models import (
    ADDRESS_MAX_LENGTH,
    PRODUCT_STOCK_MAX,
    SHIPPING_NAME_MAX_LENGTH,
    GuestPayment,
    Product,
)
from payments.creators.services.common import (
    SWEEP_BATCH,
    amount_check,
    message_clean,
    post_get_for_payment,
    split_entry,
)
from payments.processors.base import (
    CardDeclined as ProcessorCardDeclined,
)
from payments.processors.base import (
    Payment,
    PaymentRequest,
    PaymentStatus,
    PermanentProcessorError,
    TransientProcessorError,
    get_processor,
)
from payments.wallets.errors import InvalidPaymentMethod
from payments.wallets.events import EventSpec, event_spec
from payments.wallets.limits import limit_amount
from payments.wallets.receipts import ReceiptSide, payment_receipts

log = structlog.get_logger(__name__)

#: ``metadata.kind`` of the processor payments made for guest payments (webhook routing).
GUEST_PAYMENT_KIND = "guest_payment"
ACCESS_SALT = "payments.creators.guest_access"
_PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,96}")
_CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
EMAIL_MAX_LENGTH = 254

#: The fee schedule and ledger code of each kind: a guest payment books what the wallet
#: payment of the same kind books, with the processor's clearing account as the payer.
_FEE_KIND = {"tip": "tip", "unlock": "unlock", "product": "sale", "link": "tip"}
LEDGER_CODES = {
    "tip": "creator.tip.card",
    "unlock": "creator.unlock.card",
    "product": "creator.sale.card",
    "link": "link.payment.card",
}
_OPEN = (GuestPayment.Status.CREATED, GuestPayment.Status.REQUIRES_ACTION)


def email_clean(value: object) -> str:
    """The guest's address, lower-cased (a claim compares addresses). Raises
    ``InvalidEmail``."""
    email = value.strip().lower() if isinstance(value, str) else ""
    if not email or len(email) > EMAIL_MAX_LENGTH:
        raise errors.InvalidEmail()
    try:
        validate_email(email)
    except ValidationError:
        raise errors.InvalidEmail() from None
    return email


def guest_checkout_start(
    *,
    kind: str,
    email: str,
    payment_method: str,
    client_key: str,
    ip: str,
    creator: User | None = None,
    post_id: int | None = None,
    product_id: int | None = None,
    link_id: int | None = None,
    amount: Money | None = None,
    message: str = "",
    site_url: str = "",
    shipping_name: str = "",
    shipping_address: str = "",
) -> GuestPayment:
    """Charge a guest's card for ``kind`` (see the module docstring).

    ``tip``: ``creator`` (the tip jar) or ``post_id``, and ``amount``. ``unlock``:
    ``post_id`` (its price). ``product``: ``product_id`` (one item; a physical one also
    ``shipping_name`` and ``shipping_address``, kept for the seller, checked as a wallet
    order's address).
    ``link``: ``link_id``, ``creator`` (the link's owner) and ``amount``, checked by
    ``payments.links`` first. ``client_key`` (random, from the form) makes a retry find
    the first payment.

    Locks: advisory locks on the card fingerprint and the IP (while counting and
    inserting). Raises ``InvalidEmail``, ``InvalidPaymentMethod``, ``InvalidChoice``,
    ``PostNotFound``, ``PostNotForSale``, ``CreatorNotFound``, ``ProductNotFound``,
    ``ShippingAddressRequired``, ``OutOfStock``, amount errors, text errors,
    ``GuestCardLimited``/``GuestIpLimited`` (429), ``GuestTipCapExceeded`` (422),
    ``CardDeclined`` (402; the row is failed) and ``ProcessorUnavailable`` (503: retry
    with the same ``client_key``).
    """
    if not isinstance(client_key, str) or not _CLIENT_KEY.fullmatch(client_key):
        raise errors.InvalidChoice(details={"field": "client_key"})
    existing = GuestPayment.objects.filter(client_key=client_key).first()
    if existing is not None:
        if existing.status != GuestPayment.Status.CREATED or existing.payment_id:
            return _raise_if_failed(existing)
        return _charge(existing)
    email = email_clean(email)
    ip = _ip_clean(ip)
    if not isinstance(payment_method, str) or not _PAYMENT_METHOD.fullmatch(payment_method):
        raise InvalidPaymentMethod()
    target = _target(
        kind=kind,
        creator=creator,
        post_id=post_id,
        product_id=product_id,
        link_id=link_id,
        amount=amount,
    )
    quote = fee_quote(kind=_FEE_KIND[kind], gross=target["money"])
    message = message_clean(message, field="message")
    shipping = shipping_clean(target.get("product"), shipping_name, shipping_address)
    processor = get_processor()
    fingerprint = _fingerprint(processor, payment_method)
    try:
        with transaction.atomic(durable=True):
            _limits_check(kind=kind, fingerprint=fingerprint, ip=ip, money=quote.gross)
            product = target.get("product")
            if product is not None:
                _stock_reserve(product)
            guest = GuestPayment.objects.create(
                kind=kind,
                creator=target["creator"],
                post=target.get("post"),
                product=target.get("product"),
                link_id=link_id if kind == GuestPayment.Kind.LINK else None,
                email=email,
                amount=quote.gross.amount,
                fee=quote.fee.amount,
                currency=quote.gross.currency,
                message=message,
                client_key=client_key,
                processor=processor.name,
                payment_method=payment_method,
                card_fingerprint=fingerprint,
                ip=ip,
                site_url=site_url[:200],
                stock_reserved=product is not None,
                **shipping,
            )
    except IntegrityError:
        guest = GuestPayment.objects.filter(client_key=client_key).first()
        if guest is None:
            raise
        return _raise_if_failed(guest)
    return _charge(guest)


def _stock_reserve(product: Product) -> None:
    """Take the item a guest is about to pay for out of stock, in the transaction that
    records the intent: two guests racing for the last item cannot both be charged for
    it (the second gets ``OutOfStock`` before any card is touched). The conditional
    UPDATE queues behind a concurrent buyer's and re-reads the count (as wallet orders
    take theirs). Raises ``OutOfStock``."""
    taken = Product.objects.filter(pk=product.pk, is_active=True, stock__gte=1).update(
        stock=F("stock") - 1
    )
    if not taken:
        raise errors.OutOfStock()


def _stock_release(guest: GuestPayment) -> None:
    """On the locked row becoming ``failed``: put its reserved item back (at most once:
    the flag is cleared with the status, in the same save)."""
    if guest.stock_reserved:
        Product.objects.filter(pk=guest.product_id).update(
            stock=Least(F("stock") + 1, PRODUCT_STOCK_MAX)
        )
        guest.stock_reserved = False


def _ip_clean(value: object) -> str:
    """The client's address as counted by the IP limit. Without one (no peer address, as
    behind a misconfigured proxy) every such request shares one bucket: limited together
    rather than not at all."""
    try:
        return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
    except ValueError:
        return "0.0.0.0"  # noqa: S104 - a bucket name, not a bind address


def _target(*, kind, creator, post_id, product_id, link_id, amount) -> dict:
    """What is paid for, who receives it and how much. Raises the target's errors."""
    if kind == GuestPayment.Kind.TIP:
        post = None
        if post_id is not None:
            post = post_get_for_payment(post_id)
            creator = post.author
        if creator is None or not creator.is_active:
            raise errors.CreatorNotFound()
        if amount is None:
            raise errors.AmountOutOfRange()
        return {"creator": creator, "post": post, "money": amount_check(money=amount)}
    if kind == GuestPayment.Kind.UNLOCK:
        post = post_get_for_payment(post_id)
        if post.price_amount is None:
            raise errors.PostNotForSale()
        money = Money(post.price_amount, post.price_currency)
        return {"creator": post.author, "post": post, "money": money}
    if kind == GuestPayment.Kind.PRODUCT:
        if type(product_id) is not int:
            raise errors.ProductNotFound()
        product = (
            Product.objects.select_related("post", "seller")
            .filter(pk=product_id, is_active=True, post__deleted_at__isnull=True)
            .first()
        )
        if product is None or not product.seller.is_active:
            raise errors.ProductNotFound()
        if product.stock < 1:
            raise errors.OutOfStock()
        money = Money(product.price_amount, product.price_currency)
        return {"creator": product.seller, "post": product.post, "product": product, "money": money}
    if kind == GuestPayment.Kind.LINK:
        if type(link_id) is not int or creator is None or amount is None:
            raise errors.InvalidChoice(details={"field": "link"})
        return {"creator": creator, "money": amount_check(money=amount)}
    raise errors.InvalidChoice(details={"field": "kind", "choices": GuestPayment.Kind.values})


def shipping_clean(product: Product | None, name: object, address: object) -> dict:
    """The recipient of a physical product, checked as a wallet order's shipping address
    (both required); nothing for anything else. Raises ``ShippingAddressRequired`` and
    the text errors."""
    if product is None or product.kind != Product.Kind.PHYSICAL:
        return {}
    name = text_clean(
        value=name if isinstance(name, str) else "",
        max_length=SHIPPING_NAME_MAX_LENGTH,
        field="shipping_name",
    )
    address = text_clean(
        value=address if isinstance(address, str) else "",
        max_length=ADDRESS_MAX_LENGTH,
        field="shipping_address",
    )
    if not name:
        raise errors.ShippingAddressRequired(details={"field": "shipping_name"})
    if not address:
        raise errors.ShippingAddressRequired(details={"field": "shipping_address"})
    return {"shipping_name": name, "shipping_address": address}


def _fingerprint(processor, payment_method: str) -> str:
    try:
        return processor.card_fingerprint(payment_method)[:64]
    except TransientProcessorError as exc:
        raise errors.ProcessorUnavailable() from exc
    except PermanentProcessorError as exc:
        raise InvalidPaymentMethod() from exc


def _advisory_lock(namespace: str, value: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{namespace}:{value}"]
        )


def _limits_check(*, kind: str, fingerprint: str, ip: str, money: Money) -> None:
    """Inside the intent's transaction. Locks: the card's advisory lock, then the IP's
    (always in this order), so two attempts of one card or one IP count one after the
    other and a limit cannot be overrun by a race. Raises the three limit errors."""
    _advisory_lock("guest-card", fingerprint)
    _advisory_lock("guest-ip", ip)
    now = timezone.now()
    since = now - timedelta(seconds=settings.GUEST_WINDOW_SECONDS)
    recent = GuestPayment.objects.filter(created_at__gte=since)
    if recent.filter(card_fingerprint=fingerprint).count() >= settings.GUEST_PAYMENTS_PER_CARD:
        raise errors.GuestCardLimited(details={"limit": settings.GUEST_PAYMENTS_PER_CARD})
    if recent.filter(ip=ip).count() >= settings.GUEST_PAYMENTS_PER_IP:
        raise errors.GuestIpLimited(details={"limit": settings.GUEST_PAYMENTS_PER_IP})
    if kind not in (GuestPayment.Kind.TIP, GuestPayment.Kind.LINK):
        return
    cap_since = now - timedelta(seconds=settings.GUEST_TIP_CAP_WINDOW_SECONDS)
    tipped = limit_amount(money)
    rows = (
        GuestPayment.objects.filter(
            card_fingerprint=fingerprint,
            kind__in=[GuestPayment.Kind.TIP, GuestPayment.Kind.LINK],
            created_at__gte=cap_since,
        )
        .exclude(status=GuestPayment.Status.FAILED)
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        tipped += limit_amount(Money(row["total"], row["currency"]))
    if tipped > settings.GUEST_TIP_CAP:
        raise errors.GuestTipCapExceeded(
            details={"max": {"amount": settings.GUEST_TIP_CAP, "currency": "USD"}}
        )


def _charge(guest: GuestPayment) -> GuestPayment:
    """Steps 2 and 3: call the processor (no transaction open), record its answer."""
    try:
        payment = get_processor(guest.processor).create_payment(
            PaymentRequest(
                amount=guest.amount,
                currency=guest.currency,
                payment_method=guest.payment_method,
                idempotency_key=f"guestpay:{guest.pk}",
                description=f"SocialPay guest {guest.kind} #{guest.pk}",
                metadata={"kind": GUEST_PAYMENT_KIND, "guest_payment": str(guest.pk)},
            )
        )
    except ProcessorCardDeclined as exc:
        _record_decline(guest, exc)
        return _raise_if_failed(guest)
    except TransientProcessorError as exc:
        raise errors.ProcessorUnavailable() from exc
    except PermanentProcessorError as exc:
        _record_decline(guest, exc)
        return _raise_if_failed(guest)
    return _record_payment(guest, payment)


def _record_payment(guest: GuestPayment, payment: Payment) -> GuestPayment:
    status = {
        PaymentStatus.REQUIRES_ACTION: GuestPayment.Status.REQUIRES_ACTION,
        PaymentStatus.SUCCEEDED: GuestPayment.Status.PENDING,
        PaymentStatus.PROCESSING: GuestPayment.Status.PENDING,
    }.get(payment.status)
    with transaction.atomic(durable=True):
        locked = GuestPayment.objects.select_for_update().get(pk=guest.pk)
        if not locked.payment_id:
            locked.payment_id = payment.id
        # The webhook may have settled it already: a final state never moves back.
        if status and locked.status in _OPEN:
            locked.status = status
        locked.save(update_fields=["payment_id", "status"])
    return locked


def _record_decline(guest: GuestPayment, exc: PermanentProcessorError) -> None:
    with transaction.atomic(durable=True):
        locked = GuestPayment.objects.select_for_update().get(pk=guest.pk)
        if locked.status in (GuestPayment.Status.COMPLETED, GuestPayment.Status.FAILED):
            return
        locked.status = GuestPayment.Status.FAILED
        locked.failure_code = (exc.decline_code or exc.code or "declined")[:64]
        if exc.payment_id and not locked.payment_id:
            locked.payment_id = exc.payment_id
        _stock_release(locked)
        locked.save(update_fields=["status", "failure_code", "payment_id", "stock_reserved"])
    guest.refresh_from_db()


def _raise_if_failed(guest: GuestPayment) -> GuestPayment:
    if guest.status == GuestPayment.Status.FAILED:
        raise errors.CardDeclined(details={"decline_code": guest.failure_code})
    return guest


def guest_payment_get(*, client_key: object) -> GuestPayment:
    """The guest payment of a checkout (its key is the secret in the page's URL). Raises
    ``GuestPaymentNotFound``."""
    if not isinstance(client_key, str) or not _CLIENT_KEY.fullmatch(client_key):
        raise errors.GuestPaymentNotFound()
    guest = (
        GuestPayment.objects.select_related("creator", "post", "product")
        .filter(client_key=client_key)
        .first()
    )
    if guest is None:
        raise errors.GuestPaymentNotFound()
    return guest


def guest_checkout_confirm(*, client_key: str) -> GuestPayment:
    """Confirm a ``requires_action`` payment after the cardholder authenticated (3-D
    Secure). Raises ``GuestPaymentNotFound``, ``InvalidState``, ``CardDeclined``,
    ``ProcessorUnavailable``."""
    from payments.wallets.errors import InvalidState

    guest = guest_payment_get(client_key=client_key)
    if guest.status in (GuestPayment.Status.PENDING, GuestPayment.Status.COMPLETED):
        return guest
    if guest.status != GuestPayment.Status.REQUIRES_ACTION or not guest.payment_id:
        raise InvalidState(details={"status": guest.status})
    try:
        payment = get_processor(guest.processor).confirm_payment(
            guest.payment_id, idempotency_key=f"guestpay:{guest.pk}:confirm"
        )
    except ProcessorCardDeclined as exc:
        _record_decline(guest, exc)
        return _raise_if_failed(guest)
    except TransientProcessorError as exc:
        raise errors.ProcessorUnavailable() from exc
    return _record_payment(guest, payment)


# --- settlement -----------------------------------------------------------------------------
class GuestPaymentMismatch(Exception):
    """A processor event names a guest payment its payment does not belong to (another
    payment id, amount, currency or account, or a failed row). Nothing is credited; the
    webhook event ends ``failed`` with this message for staff."""


def _binding_check(guest: GuestPayment, *, payment_id: str, account: str | None) -> None:
    if account:
        raise GuestPaymentMismatch(f"guest payment {guest.pk}: event of account {account}")
    if guest.status == GuestPayment.Status.FAILED:
        raise GuestPaymentMismatch(f"guest payment {guest.pk} failed; it never succeeds later")
    if guest.payment_id and guest.payment_id != payment_id:
        raise GuestPaymentMismatch(
            f"guest payment {guest.pk} was charged as {guest.payment_id}, not {payment_id}"
        )


def guest_settle(
    *, guest_id: int, payment_id: str, account: str | None = None
) -> GuestPayment | None:
    """Credit the creator for a guest payment the processor reports succeeded, exactly once.

    The binding is checked before the processor is asked and again under the row lock;
    the processor's record (not the event body) gives the status, amount and currency.
    Locks: the ``GuestPayment`` row (``FOR UPDATE``), then the product row (stock), then
    the ledger's accounts. Raises ``GuestPaymentMismatch``; processor errors propagate
    (the webhook handler retries transient ones). Returns None for an unknown id.
    """
    guest = GuestPayment.objects.filter(pk=guest_id).first()
    if guest is None:
        return None
    _binding_check(guest, payment_id=payment_id, account=account)
    if guest.status == GuestPayment.Status.COMPLETED:
        return guest
    payment = get_processor(guest.processor).retrieve_payment(payment_id)
    if payment.status != PaymentStatus.SUCCEEDED:
        return guest  # a stale event: the succeeded one follows
    if payment.metadata.get("guest_payment") != str(guest.pk):
        raise GuestPaymentMismatch(f"payment {payment_id} was not made for guest {guest.pk}")
    if (payment.amount, payment.currency.upper()) != (guest.amount, guest.currency):
        raise GuestPaymentMismatch(f"guest payment {guest.pk} does not match {payment.id}")
    try:
        with transaction.atomic(durable=True):
            locked = (
                GuestPayment.objects.select_for_update(of=("self",))
                .select_related("creator")
                .get(pk=guest.pk)
            )
            _binding_check(locked, payment_id=payment.id, account=account)
            if locked.status == GuestPayment.Status.COMPLETED:
                return locked
            _book(locked, payment_id=payment.id)
    except IntegrityError as exc:
        if "guestpay_payment_once" not in str(exc):
            raise
        raise GuestPaymentMismatch(f"payment {payment.id} already credited another") from None
    return locked


def _book(guest: GuestPayment, *, payment_id: str) -> None:
    """Inside the settling transaction, on the locked row."""
    quote = fee_quote(kind=_FEE_KIND[guest.kind], gross=guest.money)
    if quote.fee.amount != guest.fee:
        # The schedule changed since the guest saw the fee lines: they were promised.
        quote = type(quote)(
            kind=quote.kind,
            gross=quote.gross,
            fee=Money(guest.fee, guest.currency),
            net=Money(guest.amount - guest.fee, guest.currency),
            bps=quote.bps,
        )
    entry = split_entry(
        code=LEDGER_CODES[guest.kind],
        idempotency_key=f"creators:guest:{guest.pk}",
        payer_key=chart.processor_clearing_key(guest.processor, guest.currency),
        payee_key=chart.wallet_key(guest.creator_id, guest.currency),
        quote=quote,
        reference=f"guest_payment:{guest.pk}",
        metadata={"kind": guest.kind, "payment": payment_id[:100], "post": guest.post_id},
    )
    if guest.product_id is not None and not guest.stock_reserved:
        # Only a payment started before checkouts reserved their item gets here: it was
        # charged already, so it is served and the count stops at zero. A guest's sale,
        # physical too, settles to the seller at once, without escrow: there is no account
        # to confirm delivery or to refund into.
        Product.objects.filter(pk=guest.product_id, stock__gte=1).update(stock=F("stock") - 1)
    # The reserved item is sold now: it never goes back to stock.
    guest.stock_reserved = False
    now = timezone.now()
    guest.status = GuestPayment.Status.COMPLETED
    guest.payment_id = payment_id
    guest.entry = entry
    guest.completed_at = now
    guest.failure_code = ""
    guest.receipt_sent_at = now
    guest.save()  # the unique (processor, payment_id) index refuses a second binding
    payment_receipts(
        event=f"guest_payment:{guest.pk}",
        target_type="post" if guest.post_id else "profile",
        target_id=guest.post_id or guest.creator_id,
        money=guest.money,
        data={"guest_payment": guest.pk, "kind": guest.kind, "message": guest.message},
        params={"note": f" · {guest.message}" if guest.message else ""},
        # The webhook event of the wallet payment of the same kind, in the same statement.
        events=[guest_event_spec(guest)],
        sides=[
            ReceiptSide(
                role="creator",
                user=guest.creator,
                kind="guest_payment_received",
                subject=_("A visitor paid you %(amount)s by card"),
                body=[_("A visitor without an account paid you %(amount)s by card%(note)s.")],
                text=_("A visitor paid you %(amount)s by card"),
            )
        ],
    )
    subject, body = _guest_receipt(guest)
    email = guest.email
    # At most once: the row says "sent" in the transaction that books; the mail leaves
    # after the commit.
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]), robust=True)


_link_slug: Callable[[int], str] | None = None


def link_slug_resolver_register(resolver: Callable[[int], str]) -> None:
    """How a link payment's event names its link: ``payments.links`` (above this app,
    never imported here) gives the slug of a link id at start-up."""
    global _link_slug
    _link_slug = resolver


#: The outgoing webhook event of each kind: what the wallet payment of that kind emits.
EVENT_KINDS = {
    "tip": "tip.received",
    "unlock": "post.unlocked",
    "product": "order.paid",
    "link": "payment.received",
}


def guest_event_spec(guest: GuestPayment) -> EventSpec | None:
    """The creator's webhook event of a completed guest payment. The payload has the
    wallet event's fields but ``"guest": true`` where the payer's handle would be: the
    guest's e-mail address never leaves us."""
    data: dict = {
        "guest_payment": guest.pk,
        "amount": guest.money.as_dict(),
        "fee": Money(guest.fee, guest.currency).as_dict(),
        "guest": True,
    }
    if guest.kind == GuestPayment.Kind.TIP:
        data.update(post=guest.post_id, message=guest.message)
    elif guest.kind == GuestPayment.Kind.UNLOCK:
        data.update(post=guest.post_id)
    elif guest.kind == GuestPayment.Kind.PRODUCT:
        # An order event's fields; a guest sale is settled to the seller at once.
        data.update(
            product=guest.product_id,
            quantity=1,
            status=guest.status,
            seller=guest.creator.handle,
        )
    else:
        slug = _link_slug(guest.link_id) if _link_slug is not None else ""
        data.update(link=slug, note=guest.message)
    return event_spec(EVENT_KINDS[guest.kind], guest.creator_id, data)


def _guest_receipt(guest: GuestPayment) -> tuple[str, str]:
    """The guest's e-mail, in the creator's language (the guest chose none)."""
    from django.urls import reverse

    with in_language_of(guest.creator_id):
        params = {"amount": guest.money.format(), "handle": guest.creator.handle, "id": guest.pk}
        subject = str(_("Your receipt: %(amount)s to @%(handle)s") % params)
        lines = [
            str(_("You paid @%(handle)s %(amount)s by card (payment #%(id)d).") % params),
            str(
                _("Platform fee, kept from the creator's share: %(fee)s.")
                % {"fee": Money(guest.fee, guest.currency).format()}
            ),
        ]
        if guest_has_access(guest):
            url = guest.site_url.rstrip("/") + reverse(
                "payments:guest-access", args=[guest_access_token(guest=guest)]
            )
            days = settings.GUEST_ACCESS_MAX_AGE_SECONDS // 86400
            lines.append(
                str(
                    _("Your access link (valid for %(days)d days): %(url)s")
                    % {"days": days, "url": url}
                )
            )
        lines.append(
            str(
                _(
                    "Sign up with this e-mail address and verify it to keep your purchases "
                    "in your account."
                )
            )
        )
    return subject, "\n".join(lines)


def guest_fail_from_processor(*, guest_id: int, decline_code: str, payment_id: str = "") -> None:
    """A ``payment_intent.payment_failed`` webhook: fail the row unless it is final or the
    event is about another payment."""
    with transaction.atomic(durable=True):
        locked = GuestPayment.objects.select_for_update().filter(pk=guest_id).first()
        if locked is None or locked.status in (
            GuestPayment.Status.COMPLETED,
            GuestPayment.Status.FAILED,
        ):
            return
        if locked.payment_id and payment_id and locked.payment_id != payment_id:
            return
        locked.status = GuestPayment.Status.FAILED
        locked.failure_code = (decline_code or "declined")[:64]
        _stock_release(locked)
        locked.save(update_fields=["status", "failure_code", "stock_reserved"])


def guests_sweep(*, now: datetime | None = None) -> int:
    """Finish guest payments whose webhook never came: ask the processor about each one
    pending (or waiting for 3-D Secure) longer than ``CREATOR_STUCK_AFTER_SECONDS`` and
    settle or fail it."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CREATOR_STUCK_AFTER_SECONDS)
    # A checkout left at 3-D Secure is asked about too: the processor moves an abandoned
    # or failed authentication on (``requires_payment_method``), and failing the row puts
    # a reserved item back in stock.
    stuck = (
        GuestPayment.objects.filter(
            status__in=(GuestPayment.Status.PENDING, GuestPayment.Status.REQUIRES_ACTION),
            created_at__lt=cutoff,
        )
        .exclude(payment_id="")
        .order_by("created_at")
        .values_list("pk", "processor", "payment_id")[:SWEEP_BATCH]
    )
    finished = 0
    for guest_id, processor, payment_id in stuck:
        try:
            payment = get_processor(processor).retrieve_payment(payment_id)
            if payment.status == PaymentStatus.SUCCEEDED:
                guest_settle(guest_id=guest_id, payment_id=payment_id)
            elif payment.status in (PaymentStatus.CANCELED, PaymentStatus.REQUIRES_PAYMENT_METHOD):
                guest_fail_from_processor(
                    guest_id=guest_id,
                    decline_code=payment.decline_code or "payment_failed",
                    payment_id=payment_id,
                )
            else:
                continue
        except (TransientProcessorError, GuestPaymentMismatch) as exc:
            log.warning("creators.guest_sweep_skipped", guest_id=guest_id, error=str(exc))
            continue
        finished += 1
    return finished


# --- access and claims ----------------------------------------------------------------------
def guest_has_access(guest: GuestPayment) -> bool:
    """Whether a payment opens something online: an unlock or a digital product (a
    physical product is shipped, with no access link)."""
    if guest.kind == GuestPayment.Kind.UNLOCK:
        return True
    return guest.kind == GuestPayment.Kind.PRODUCT and guest.product.kind == Product.Kind.DIGITAL


def guest_access_token(*, guest: GuestPayment) -> str:
    """A signed, timestamped token naming the payment (and its e-mail, so a token cannot
    outlive a change of the row's owner). Checked by ``guest_access_check``."""
    return signing.dumps({"g": guest.pk, "e": guest.email}, salt=ACCESS_SALT, compress=True)


def guest_access_check(*, token: object, max_age: int | None = None) -> GuestPayment:
    """The completed unlock or digital product a token opens. Raises
    ``GuestAccessExpired`` (410) after ``GUEST_ACCESS_MAX_AGE_SECONDS`` and
    ``GuestAccessInvalid`` (403) for anything else."""
    if not isinstance(token, str) or len(token) > 500:
        raise errors.GuestAccessInvalid()
    try:
        data = signing.loads(
            token,
            salt=ACCESS_SALT,
            max_age=settings.GUEST_ACCESS_MAX_AGE_SECONDS if max_age is None else max_age,
        )
    except signing.SignatureExpired:
        raise errors.GuestAccessExpired() from None
    except signing.BadSignature:
        raise errors.GuestAccessInvalid() from None
    if not isinstance(data, dict) or type(data.get("g")) is not int:
        raise errors.GuestAccessInvalid()
    guest = (
        GuestPayment.objects.select_related("post", "product", "creator")
        .filter(
            pk=data["g"],
            email=data.get("e"),
            status=GuestPayment.Status.COMPLETED,
            kind__in=[GuestPayment.Kind.UNLOCK, GuestPayment.Kind.PRODUCT],
        )
        .exclude(product__kind=Product.Kind.PHYSICAL)
        .first()
    )
    if guest is None:
        raise errors.GuestAccessInvalid()
    return guest


def guest_payments_claim(*, user: User) -> int:
    """Give ``user`` the guest payments made with any of their verified e-mail addresses
    (not yet claimed by someone else). Idempotent; returns how many were claimed."""
    from allauth.account.models import EmailAddress

    emails = [
        e.lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    ]
    if not emails:
        return 0
    return GuestPayment.objects.filter(email__in=emails, claimed_by__isnull=True).update(
        claimed_by=user
    )
