"""Creator money flows: every write of tips, unlocks, orders, refunds and memberships.

Why each flow is a short sequence of durable transactions, not one: the ledger's
``entry_post`` is itself ``transaction.atomic(durable=True)`` and may not be nested. So
each flow (1) records its intent as a ``pending`` row and commits, (2) books the ledger
entry with an idempotency key derived from that row's id, (3) marks the row final in a
new transaction. Step 2 is exactly-once by its key; step 3 is a conditional UPDATE from
``pending``. A crash between steps leaves a ``pending`` row that ``creators_sweep_stuck``
re-drives with the same key. If step 3 finds the row already ``failed`` (the sweeper gave
up on it while a slow first attempt was still booking), the entry is reversed, so money
and rows never disagree.

Postings (fee at the rate of ``settings.CREATOR_FEE_SCHEDULE``; see ``fees.py``):

- tip / unlock / membership charge: D wallet:payer gross · C wallet:creator net · C fees fee
- order paid: D wallet:buyer amount · C escrow amount
- order released: D escrow (amount - refunded) · C wallet:seller net · C fees fee
- order refund (before release): D escrow refund · C wallet:buyer refund; a full refund
  also puts the order's quantity back in stock (partial refunds do not)

Locks: orders are locked (``SELECT … FOR UPDATE``) for ship / release / refund; stock is
taken with a conditional UPDATE (``stock >= q``); memberships are locked for renewals. The
ledger locks the paying wallet itself. No transaction is open across another.

Notifications are rows written in the same transaction as the state change they report.

Wallet send rules (the same as P2P transfers and cross-border sends): a frozen payer pays
nothing (``account_frozen``, re-read from the database, so a freeze applies at once), and
every payment from the wallet (tip, unlock, order, first membership charge) counts against
the payer's weekly send limit and velocity limit. The limit is reserved with
``payments.wallets.limits.limits_reserve`` inside step 1's transaction (one UPDATE of the
payer's ``SendLimit`` row, which serialises that payer's concurrent payments), and given
back in the same transaction that fails the row when the wallet cannot pay. A retry of
the same request finds its row and reserves nothing again. Membership renewals are not
counted (the member authorised them when joining; a limit must not silently end a
membership), but a frozen member's renewal is not paid.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.language import in_language_of
from accounts.models import User
from accounts.selectors import is_blocked
from accounts.services import notification_create, text_clean
from core.money import Money, currency_require_supported
from ledger import chart
from ledger.errors import InsufficientFunds
from ledger.models import Entry
from ledger.services import credit, debit, entry_post, entry_reverse
from payments.creators import errors
from payments.creators.fees import FeeQuote, fee_quote
from payments.creators.models import (
    MESSAGE_MAX_LENGTH,
    PRODUCT_DESCRIPTION_MAX_LENGTH,
    PRODUCT_STOCK_MAX,
    PRODUCT_TITLE_MAX_LENGTH,
    Membership,
    MembershipCharge,
    MembershipTier,
    Order,
    OrderRefund,
    PayStatus,
    Product,
    Tip,
    Unlock,
    Visibility,
)
from payments.wallets.limits import (
    limit_amount,
    limits_check_amount,
    limits_release,
    limits_reserve,
)
from posts.models import LOCKED_TEXT_MAX_LENGTH, Post

#: Largest single creator payment, in minor units (a limit on everything).
MAX_PAYMENT_MINOR = 1_000_000_00
MAX_ORDER_QUANTITY = 100
SWEEP_BATCH = 200


# --- shared checks --------------------------------------------------------------------------
def amount_check(*, money: Money) -> Money:
    """A payment amount: supported currency, 1 ≤ amount ≤ ``MAX_PAYMENT_MINOR``."""
    currency_require_supported(money.currency)
    if not 0 < money.amount <= MAX_PAYMENT_MINOR:
        raise errors.AmountOutOfRange(
            details={"min": 1, "max": MAX_PAYMENT_MINOR, "currency": money.currency}
        )
    return money


def _payer_check(payer: User) -> None:
    """Re-read the payer: a freeze by staff applies at once, whatever the request's cached
    user says. Raises ``AccountFrozen`` (403)."""
    if User.objects.filter(pk=payer.pk, is_frozen=True).exists():
        raise errors.AccountFrozen()


def _limits_take(*, payer_id: int, money: Money) -> None:
    """Count a wallet payment against the payer's send limits. Runs inside the caller's
    step-1 transaction: the per-payment maximum, then the weekly/velocity reservation
    (row lock on ``SendLimit``). Raises ``LimitExceeded`` / ``VelocityExceeded``; the
    caller's transaction then rolls back, so nothing is written."""
    tier = User.objects.values_list("verification_tier", flat=True).get(pk=payer_id)
    counted = limit_amount(money)
    limits_check_amount(tier=tier, amount=counted)
    limits_reserve(user_id=payer_id, tier=tier, amount=counted)


def _limits_give_back(*, payer_id: int, money: Money, reserved_at: datetime) -> None:
    """Release the reservation of a wallet payment that did not happen (inside the
    transaction that fails its row, so it happens exactly once)."""
    limits_release(user_id=payer_id, amount=limit_amount(money), reserved_at=reserved_at)


def _fail_wallet_payment(model, row, *, payer_id: int, code: str) -> None:
    """Step 3 when the wallet could not pay: fail the row from ``pending`` and give the
    limit back, in one transaction (only the run that fails the row releases)."""
    with transaction.atomic(durable=True):
        if model.objects.filter(pk=row.pk, status=PayStatus.PENDING).update(
            status=PayStatus.FAILED, failure_code=code
        ):
            _limits_give_back(
                payer_id=payer_id, money=Money(row.amount, row.currency), reserved_at=row.created_at
            )


def _parties_check(*, payer: User, payee: User, not_found: type[Exception]) -> None:
    """Self-payment is refused plainly; a blocked or inactive payee looks missing."""
    _payer_check(payer)
    if payer.pk == payee.pk:
        raise errors.CannotPaySelf()
    if not payee.is_active or is_blocked(payer.pk, payee.pk):
        raise not_found()


def post_get_for_payment(post_id: Any) -> Post:
    """A visible post by an active author, or ``PostNotFound`` (bad ids included)."""
    if type(post_id) is not int or post_id <= 0:
        raise errors.PostNotFound()
    post = (
        Post.objects.select_related("author")
        .filter(pk=post_id, deleted_at__isnull=True, hidden_at__isnull=True)
        .first()
    )
    if post is None or not post.author.is_active:
        raise errors.PostNotFound()
    return post


def _split_postings(*, payer_key: str, payee_key: str, quote: FeeQuote) -> list:
    legs = [debit(payer_key, quote.gross)]
    if quote.net.amount:
        legs.append(credit(payee_key, quote.net))
    if quote.fee.amount:
        legs.append(credit(chart.fees_key(quote.gross.currency), quote.fee))
    return legs


def _finish(model, pk: int, *, updates: dict) -> bool:
    """Step 3: mark the row final, from ``pending`` only. False when another run already
    did, or when the row was failed meanwhile (then the caller undoes its entry)."""
    return bool(model.objects.filter(pk=pk, status=PayStatus.PENDING).update(**updates))


def _undo_if_failed(model, pk: int, entry: Entry) -> None:
    """Called outside any transaction: a row failed while its entry was being booked
    (see the module docstring) gets the entry reversed, once (keyed on the entry)."""
    if model.objects.filter(pk=pk, status="failed").exists():
        entry_reverse(entry=entry, idempotency_key=f"{entry.idempotency_key}:undo")


# --- tips -----------------------------------------------------------------------------------
def tip_send(
    *,
    tipper: User,
    amount: Money,
    request_key: str,
    post_id: int | None = None,
    creator: User | None = None,
    message: str = "",
    visibility: str = Visibility.PRIVATE,
    show_amount: bool = False,
) -> Tip:
    """Tip the author of ``post_id`` (or ``creator``'s tip jar) from the wallet.

    ``request_key`` (the API Idempotency-Key or the form key) makes a retry return the
    first tip. Raises ``CannotPaySelf``, ``PostNotFound``/``CreatorNotFound`` (also when
    either side blocked the other), ``AmountOutOfRange``, ``InsufficientFunds``,
    ``AccountFrozen``, text errors for the message, ``InvalidChoice``.
    """
    post = None
    if post_id is not None:
        post = post_get_for_payment(post_id)
        creator = post.author
        _parties_check(payer=tipper, payee=creator, not_found=errors.PostNotFound)
    elif creator is not None:
        _parties_check(payer=tipper, payee=creator, not_found=errors.CreatorNotFound)
    else:
        raise errors.CreatorNotFound()
    amount_check(money=amount)
    message = text_clean(value=message or "", max_length=MESSAGE_MAX_LENGTH, field="note")
    if visibility not in Visibility.values:
        raise errors.InvalidChoice(details={"field": "visibility"})
    existing = Tip.objects.filter(tipper=tipper, request_key=request_key).first()
    if existing is None:
        quote = fee_quote(kind="tip", gross=amount)
        try:
            existing = _tip_record(
                tipper=tipper,
                creator=creator,
                post=post,
                quote=quote,
                message=message,
                visibility=visibility,
                show_amount=bool(show_amount),
                request_key=request_key,
            )
        except IntegrityError:
            existing = Tip.objects.get(tipper=tipper, request_key=request_key)
    return _paid_or_raise(tip_settle(tip_id=existing.pk))


@transaction.atomic(durable=True)
def _tip_record(*, tipper, creator, post, quote: FeeQuote, **fields) -> Tip:
    if fields.get("source", Tip.Source.WALLET) == Tip.Source.WALLET:
        _limits_take(payer_id=tipper.pk, money=quote.gross)
    return Tip.objects.create(
        tipper=tipper,
        creator=creator,
        post=post,
        amount=quote.gross.amount,
        fee=quote.fee.amount,
        currency=quote.gross.currency,
        **fields,
    )


def _wallet_payment_settle(
    model, row, *, kind: str, payer_id: int, payee_id: int, metadata: dict, complete
) -> object:
    """Steps 2 and 3 of a wallet payment split between creator and fee (tips, unlocks).

    Books the entry keyed by the row id (so a rerun finds the same entry), marks the row
    failed and gives its limit back when the wallet cannot pay, otherwise completes it and
    reverses the entry if the row was failed meanwhile by the sweeper.
    """
    quote = fee_quote(kind=kind, gross=Money(row.amount, row.currency))
    try:
        entry = entry_post(
            code=f"creator.{kind}",
            idempotency_key=f"creators:{kind}:{row.pk}",
            postings=_split_postings(
                payer_key=chart.wallet_key(payer_id, row.currency),
                payee_key=chart.wallet_key(payee_id, row.currency),
                quote=quote,
            ),
            reference=f"{kind}:{row.pk}",
            metadata={**metadata, "fee": quote.fee.amount},
        )
    except InsufficientFunds:
        _fail_wallet_payment(model, row, payer_id=payer_id, code=InsufficientFunds.code)
        return model.objects.get(pk=row.pk)
    complete(entry)
    _undo_if_failed(model, row.pk, entry)
    return model.objects.get(pk=row.pk)


def _paid_or_raise(row):
    if row.status == PayStatus.FAILED:
        if row.failure_code == InsufficientFunds.code:
            raise InsufficientFunds()
        if row.failure_code == "card_declined":
            raise errors.CardDeclined()
        raise errors.PaymentFailed(details={"reason": row.failure_code})
    return row


def tip_settle(*, tip_id: int) -> Tip:
    """Book a pending wallet tip (steps 2 and 3). Safe to run again at any time."""
    tip = Tip.objects.get(pk=tip_id)
    if tip.status != PayStatus.PENDING or tip.source != Tip.Source.WALLET:
        return tip
    return _wallet_payment_settle(
        Tip,
        tip,
        kind="tip",
        payer_id=tip.tipper_id,
        payee_id=tip.creator_id,
        metadata={"post": tip.post_id},
        complete=lambda entry: _tip_complete(tip=tip, entry=entry),
    )


@transaction.atomic(durable=True)
def _tip_complete(*, tip: Tip, entry: Entry) -> None:
    now = timezone.now()
    if _finish(
        Tip,
        tip.pk,
        updates={"status": PayStatus.COMPLETED, "entry": entry, "completed_at": now},
    ):
        with in_language_of(tip.creator):
            notification_create(
                recipient=tip.creator,
                actor=tip.tipper,
                kind="tip_received",
                target_type="post" if tip.post_id else "profile",
                target_id=tip.post_id or tip.creator_id,
                data={
                    "tip": tip.pk,
                    "amount": tip.amount,
                    "currency": tip.currency,
                    "message": tip.message,
                    "text": _("tipped you %(amount)s")
                    % {"amount": Money(tip.amount, tip.currency).format()},
                },
            )


def tip_send_card(
    *,
    tipper: User,
    amount: Money,
    payment_method: str,
    request_key: str,
    post_id: int | None = None,
    creator: User | None = None,
    message: str = "",
    visibility: str = Visibility.PRIVATE,
    show_amount: bool = False,
) -> Tip:
    """Tip straight from a card: the money goes through the processor and reaches the
    creator only when the processor confirms the payment (``tip_settle_card``, from the
    ``payment_intent.succeeded`` webhook).

    Records the tip first and commits, then calls the processor with a key derived from
    the tip id (never inside a transaction), then records the payment id. Raises what
    ``tip_send`` raises, ``CardDeclined`` (402 ``card_declined``; the tip is failed) and
    ``TransientProcessorError`` (the tip stays pending; a retry with the same request key
    calls the processor again with the same key, so there is one payment at most).
    """
    from payments.processors import get_processor
    from payments.processors.base import CardDeclined, PaymentRequest, TransientProcessorError

    post = None
    if post_id is not None:
        post = post_get_for_payment(post_id)
        creator = post.author
        _parties_check(payer=tipper, payee=creator, not_found=errors.PostNotFound)
    elif creator is not None:
        _parties_check(payer=tipper, payee=creator, not_found=errors.CreatorNotFound)
    else:
        raise errors.CreatorNotFound()
    amount_check(money=amount)
    message = text_clean(value=message or "", max_length=MESSAGE_MAX_LENGTH, field="note")
    if visibility not in Visibility.values:
        raise errors.InvalidChoice(details={"field": "visibility"})
    if not isinstance(payment_method, str) or not 1 <= len(payment_method) <= 255:
        raise errors.InvalidChoice(details={"field": "payment_method"})
    tip = Tip.objects.filter(tipper=tipper, request_key=request_key).first()
    if tip is None:
        try:
            tip = _tip_record(
                tipper=tipper,
                creator=creator,
                post=post,
                quote=fee_quote(kind="tip", gross=amount),
                message=message,
                visibility=visibility,
                show_amount=bool(show_amount),
                request_key=request_key,
                source=Tip.Source.CARD,
            )
        except IntegrityError:
            tip = Tip.objects.get(tipper=tipper, request_key=request_key)
    if tip.status != PayStatus.PENDING or tip.processor_payment_id:
        return _paid_or_raise(tip)
    try:
        payment = get_processor().create_payment(
            PaymentRequest(
                amount=tip.amount,
                currency=tip.currency,
                payment_method=payment_method,
                idempotency_key=f"creators-tip-{tip.pk}",
                description=f"Tip to @{creator.handle}",
                metadata={"kind": CARD_TIP_KIND, "tip": str(tip.pk)},
            )
        )
    except CardDeclined as exc:
        Tip.objects.filter(pk=tip.pk, status=PayStatus.PENDING).update(
            status=PayStatus.FAILED, failure_code="card_declined"
        )
        raise errors.CardDeclined() from exc
    except TransientProcessorError as exc:
        raise errors.ProcessorUnavailable() from exc
    Tip.objects.filter(pk=tip.pk, processor_payment_id="").update(processor_payment_id=payment.id)
    return Tip.objects.get(pk=tip.pk)


#: ``metadata.kind`` of the processor payments made for card tips (webhook routing).
CARD_TIP_KIND = "creator_tip"


def tip_settle_card(
    *, tip_id: int, processor: str, payment_id: str, amount: int, currency: str
) -> Tip:
    """Credit a card tip once the processor confirmed it (webhook handler). Idempotent:
    the ledger key is derived from the tip id. A payment that does not match the tip
    (amount, currency, or another payment id) is refused and the tip failed."""
    tip = Tip.objects.filter(pk=tip_id, source=Tip.Source.CARD).first()
    if tip is None or tip.status != PayStatus.PENDING:
        return tip
    if (amount, currency) != (tip.amount, tip.currency) or (
        tip.processor_payment_id and tip.processor_payment_id != payment_id
    ):
        Tip.objects.filter(pk=tip.pk, status=PayStatus.PENDING).update(
            status=PayStatus.FAILED, failure_code="payment_mismatch"
        )
        return Tip.objects.get(pk=tip.pk)
    quote = fee_quote(kind="tip", gross=Money(tip.amount, tip.currency))
    entry = entry_post(
        code="creator.tip.card",
        idempotency_key=f"creators:tip:{tip.pk}",
        postings=_split_postings(
            payer_key=chart.processor_clearing_key(processor, tip.currency),
            payee_key=chart.wallet_key(tip.creator_id, tip.currency),
            quote=quote,
        ),
        reference=f"tip:{tip.pk}",
        metadata={"post": tip.post_id, "fee": quote.fee.amount, "payment": payment_id[:100]},
    )
    Tip.objects.filter(pk=tip.pk, processor_payment_id="").update(processor_payment_id=payment_id)
    _tip_complete(tip=tip, entry=entry)
    _undo_if_failed(Tip, tip.pk, entry)
    return Tip.objects.get(pk=tip.pk)


def tip_fail_card(*, tip_id: int, code: str) -> None:
    """The processor reported the card payment failed: the tip never credits anyone."""
    Tip.objects.filter(pk=tip_id, source=Tip.Source.CARD, status=PayStatus.PENDING).update(
        status=PayStatus.FAILED, failure_code=code[:60]
    )


# --- unlocks --------------------------------------------------------------------------------
def unlock_purchase(*, buyer: User, post_id: int) -> tuple[Unlock, bool]:
    """Buy access to ``post_id``'s locked content. Returns ``(unlock, created)``.

    At most one charge per person and post, even under concurrency: the partial UNIQUE
    (post, buyer) lets one intent row exist; a concurrent or repeated call finds it and
    settles it with the same ledger key. Raises ``PostNotFound`` (blocked too),
    ``PostNotForSale``, ``CannotPaySelf``, ``InsufficientFunds``, ``AccountFrozen``.
    """
    post = post_get_for_payment(post_id)
    if post.author_id == buyer.pk:
        raise errors.CannotPaySelf()
    if post.price_amount is None:
        raise errors.PostNotForSale()
    _parties_check(payer=buyer, payee=post.author, not_found=errors.PostNotFound)
    created = False
    unlock = Unlock.objects.filter(post=post, buyer=buyer).exclude(status=PayStatus.FAILED).first()
    if unlock is None:
        quote = fee_quote(kind="unlock", gross=Money(post.price_amount, post.price_currency))
        try:
            unlock = _unlock_record(post=post, buyer=buyer, quote=quote)
            created = True
        except IntegrityError:
            unlock = (
                Unlock.objects.filter(post=post, buyer=buyer).exclude(status=PayStatus.FAILED).get()
            )
    return _paid_or_raise(unlock_settle(unlock_id=unlock.pk)), created


@transaction.atomic(durable=True)
def _unlock_record(*, post: Post, buyer: User, quote: FeeQuote) -> Unlock:
    _limits_take(payer_id=buyer.pk, money=quote.gross)
    return Unlock.objects.create(
        post=post,
        buyer=buyer,
        creator_id=post.author_id,
        amount=quote.gross.amount,
        fee=quote.fee.amount,
        currency=quote.gross.currency,
    )


def unlock_settle(*, unlock_id: int) -> Unlock:
    unlock = Unlock.objects.get(pk=unlock_id)
    if unlock.status != PayStatus.PENDING:
        return unlock
    return _wallet_payment_settle(
        Unlock,
        unlock,
        kind="unlock",
        payer_id=unlock.buyer_id,
        payee_id=unlock.creator_id,
        metadata={"post": unlock.post_id},
        complete=lambda entry: _unlock_complete(unlock=unlock, entry=entry),
    )


@transaction.atomic(durable=True)
def _unlock_complete(*, unlock: Unlock, entry: Entry) -> None:
    if _finish(
        Unlock,
        unlock.pk,
        updates={"status": PayStatus.COMPLETED, "entry": entry, "completed_at": timezone.now()},
    ):
        with in_language_of(unlock.creator):
            notification_create(
                recipient=unlock.creator,
                actor=unlock.buyer,
                kind="post_unlocked",
                target_type="post",
                target_id=unlock.post_id,
                data={
                    "unlock": unlock.pk,
                    "amount": unlock.amount,
                    "currency": unlock.currency,
                    "text": _("unlocked your post for %(amount)s")
                    % {"amount": Money(unlock.amount, unlock.currency).format()},
                },
            )


def paid_content_check(
    *, author: User, locked_text: str, price: Money | None, members_tier_id: int | None
) -> tuple[str, Money | None, MembershipTier | None]:
    """Validate paid content before anything is written (a post is created only with
    valid paid content). Locked text needs a price, a members tier, or both."""
    locked_text = text_clean(
        value=locked_text or "", max_length=LOCKED_TEXT_MAX_LENGTH, field="locked_text"
    )
    tier = None
    if members_tier_id is not None:
        tier = MembershipTier.objects.filter(
            pk=members_tier_id, creator=author, is_active=True
        ).first()
        if tier is None:
            raise errors.TierNotFound()
    if price is not None:
        amount_check(money=price)
    if (price is not None or tier is not None) and not locked_text:
        raise errors.InvalidChoice(
            "Paid or members-only content needs locked_text.", details={"field": "locked_text"}
        )
    if locked_text and price is None and tier is None:
        raise errors.InvalidChoice(
            "Locked text needs a price or a members tier.", details={"field": "price"}
        )
    return locked_text, price, tier


def post_set_paid_content(
    *,
    author: User,
    post: Post,
    locked_text: str,
    price: Money | None = None,
    members_tier_id: int | None = None,
) -> Post:
    """Put ``locked_text`` behind ``price`` and/or a members tier on the author's post."""
    if post.author_id != author.pk:
        raise errors.NotYourPost()
    locked_text, price, tier = paid_content_check(
        author=author, locked_text=locked_text, price=price, members_tier_id=members_tier_id
    )
    Post.objects.filter(pk=post.pk).update(
        locked_text=locked_text,
        price_amount=price.amount if price else None,
        price_currency=price.currency if price else "",
        members_tier=tier,
    )
    post.refresh_from_db()
    return post


# --- products and orders --------------------------------------------------------------------
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
) -> Product:
    """Attach a product to the seller's own post. Raises ``PostNotFound``, ``NotYourPost``,
    ``AmountOutOfRange``, ``InvalidChoice``, text errors."""
    post = post_get_for_payment(post_id)
    if post.author_id != seller.pk:
        raise errors.NotYourPost()
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
    return Product.objects.create(
        post=post,
        seller=seller,
        title=title,
        description=description,
        price_amount=price.amount,
        price_currency=price.currency,
        stock=stock,
        kind=kind,
        delivery_url=delivery_url,
    )


def _release_window() -> timedelta:
    return timedelta(hours=settings.CREATOR_ESCROW_RELEASE_HOURS)


def order_create(
    *,
    buyer: User,
    product_id: int,
    quantity: int,
    request_key: str,
    shipping_address: str = "",
) -> Order:
    """Buy ``quantity`` of a product; the money goes into escrow.

    Stock is taken with ``UPDATE … SET stock = stock - q WHERE stock >= q`` in the intent
    transaction, so concurrent buyers can never oversell; a failed payment gives it back.
    Raises ``ProductNotFound`` (blocked too), ``CannotPaySelf``, ``InvalidQuantity``,
    ``ShippingAddressRequired``, ``OutOfStock``, ``InsufficientFunds``, ``AccountFrozen``.
    """
    if type(product_id) is not int or product_id <= 0:
        raise errors.ProductNotFound()
    product = (
        Product.objects.select_related("post", "seller")
        .filter(pk=product_id, is_active=True, post__deleted_at__isnull=True)
        .filter(post__hidden_at__isnull=True)
        .first()
    )
    if product is None:
        raise errors.ProductNotFound()
    if product.seller_id == buyer.pk:
        raise errors.CannotPaySelf()
    _parties_check(payer=buyer, payee=product.seller, not_found=errors.ProductNotFound)
    if type(quantity) is not int or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise errors.InvalidQuantity()
    address = text_clean(value=shipping_address or "", max_length=500, field="shipping_address")
    if product.kind == Product.Kind.PHYSICAL and not address:
        raise errors.ShippingAddressRequired()
    if product.kind == Product.Kind.DIGITAL:
        address = ""
    amount_check(money=Money(product.price_amount * quantity, product.price_currency))
    order = Order.objects.filter(buyer=buyer, request_key=request_key).first()
    if order is None:
        try:
            order = _order_record(
                buyer=buyer, product=product, quantity=quantity, address=address, key=request_key
            )
        except IntegrityError:
            order = Order.objects.get(buyer=buyer, request_key=request_key)
    return _order_paid_or_raise(order_settle_payment(order_id=order.pk))


@transaction.atomic(durable=True)
def _order_record(*, buyer, product: Product, quantity: int, address: str, key: str) -> Order:
    taken = Product.objects.filter(pk=product.pk, is_active=True, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    if not taken:
        raise errors.OutOfStock()
    _limits_take(
        payer_id=buyer.pk, money=Money(product.price_amount * quantity, product.price_currency)
    )
    return Order.objects.create(
        product=product,
        buyer=buyer,
        seller_id=product.seller_id,
        quantity=quantity,
        unit_price=product.price_amount,
        amount=product.price_amount * quantity,
        currency=product.price_currency,
        shipping_address=address,
        request_key=key,
    )


def _order_paid_or_raise(order: Order) -> Order:
    if order.status == Order.Status.FAILED:
        if order.failure_code == InsufficientFunds.code:
            raise InsufficientFunds()
        raise errors.PaymentFailed(details={"reason": order.failure_code})
    return order


def order_settle_payment(*, order_id: int) -> Order:
    """Book a pending order's payment into escrow (or fail it and give the stock back)."""
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.PENDING:
        return order
    amount = Money(order.amount, order.currency)
    try:
        entry = entry_post(
            code="creator.order.pay",
            idempotency_key=f"creators:order:{order.pk}:pay",
            postings=[
                debit(chart.wallet_key(order.buyer_id, order.currency), amount),
                credit(chart.escrow_key(order.currency), amount),
            ],
            reference=f"order:{order.pk}",
            metadata={"product": order.product_id, "quantity": order.quantity},
        )
    except InsufficientFunds:
        _order_fail(order=order, code=InsufficientFunds.code)
        return Order.objects.get(pk=order.pk)
    _order_mark_paid(order=order, entry=entry)
    _undo_if_failed(Order, order.pk, entry)
    return Order.objects.get(pk=order.pk)


@transaction.atomic(durable=True)
def _order_fail(*, order: Order, code: str) -> None:
    if Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(
        status=Order.Status.FAILED, failure_code=code, finished_at=timezone.now()
    ):
        Product.objects.filter(pk=order.product_id).update(stock=F("stock") + order.quantity)
        _limits_give_back(
            payer_id=order.buyer_id,
            money=Money(order.amount, order.currency),
            reserved_at=order.created_at,
        )


@transaction.atomic(durable=True)
def _order_mark_paid(*, order: Order, entry: Entry) -> None:
    now = timezone.now()
    digital = order.product.kind == Product.Kind.DIGITAL
    done = Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(
        status=Order.Status.PAID,
        payment_entry=entry,
        paid_at=now,
        # Digital goods are delivered now; physical ones start the clock when shipped.
        release_after=now + _release_window() if digital else None,
    )
    if not done:
        return
    with in_language_of(order.seller):
        notification_create(
            recipient=order.seller,
            actor=order.buyer,
            kind="order_received",
            target_type="order",
            target_id=order.pk,
            data={
                "order": order.pk,
                "amount": order.amount,
                "currency": order.currency,
                "text": _("ordered %(quantity)d of %(product)s (order #%(order)d)")
                % {"quantity": order.quantity, "product": order.product.title, "order": order.pk},
            },
        )


def _order_for(*, order_id: int, user: User, role: str) -> Order:
    field = "seller_id" if role == "seller" else "buyer_id"
    order = Order.objects.filter(pk=order_id, **{field: user.pk}).first()
    if order is None:
        raise errors.OrderNotFound()
    return order


@transaction.atomic(durable=True)
def order_ship(*, seller: User, order_id: int) -> Order:
    """The seller marks a paid physical order shipped; the release window starts now.
    Locks the order row. Raises ``OrderNotFound`` (also for other people's orders),
    ``OrderStateConflict``."""
    _order_for(order_id=order_id, user=seller, role="seller")
    order = Order.objects.select_for_update().select_related("product").get(pk=order_id)
    if order.status != Order.Status.PAID or order.product.kind != Product.Kind.PHYSICAL:
        raise errors.OrderStateConflict(details={"status": order.status})
    now = timezone.now()
    order.status = Order.Status.SHIPPED
    order.shipped_at = now
    order.release_after = now + _release_window()
    order.save(update_fields=["status", "shipped_at", "release_after"])
    with in_language_of(order.buyer):
        notification_create(
            recipient=order.buyer,
            actor=order.seller,
            kind="order_shipped",
            target_type="order",
            target_id=order.pk,
            data={
                "order": order.pk,
                "text": _("shipped your order #%(order)d") % {"order": order.pk},
            },
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
    """Release an order's escrow to the seller (net) and the platform (fee). Idempotent:
    an order already released, refunded or failed is returned unchanged."""
    order = _order_begin_release(order_id=order_id)
    if order.status != Order.Status.RELEASING:
        return order
    gross = Money(order.amount - order.refunded_amount, order.currency)
    quote = fee_quote(kind="sale", gross=gross)
    entry = entry_post(
        code="creator.order.release",
        idempotency_key=f"creators:order:{order.pk}:release",
        postings=_split_postings(
            payer_key=chart.escrow_key(order.currency),
            payee_key=chart.wallet_key(order.seller_id, order.currency),
            quote=quote,
        ),
        reference=f"order:{order.pk}",
        metadata={"fee": quote.fee.amount},
    )
    _order_mark_released(order=order, entry=entry, fee=quote.fee.amount)
    return Order.objects.get(pk=order.pk)


@transaction.atomic(durable=True)
def _order_begin_release(*, order_id: int) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status in Order.IN_ESCROW:
        order.status = Order.Status.RELEASING
        order.save(update_fields=["status"])
    return order


@transaction.atomic(durable=True)
def _order_mark_released(*, order: Order, entry: Entry, fee: int) -> None:
    if Order.objects.filter(pk=order.pk, status=Order.Status.RELEASING).update(
        status=Order.Status.RELEASED, release_entry=entry, fee=fee, finished_at=timezone.now()
    ):
        with in_language_of(order.seller):
            notification_create(
                recipient=order.seller,
                kind="order_released",
                target_type="order",
                target_id=order.pk,
                data={
                    "order": order.pk,
                    "text": _("Order #%(order)d completed: payment released") % {"order": order.pk},
                },
            )


def order_refund(
    *, seller: User, order_id: int, amount: Money | None = None, reason: str = ""
) -> OrderRefund:
    """Refund all (``amount`` None) or part of an order before its escrow is released.

    Locks the order row while deciding. Raises ``OrderNotFound``, ``OrderStateConflict``,
    ``RefundTooLarge``, ``AmountOutOfRange``, ``CurrencyMismatch``.
    """
    _order_for(order_id=order_id, user=seller, role="seller")
    reason = text_clean(value=reason or "", max_length=MESSAGE_MAX_LENGTH, field="reason")
    refund = _order_refund_record(order_id=order_id, amount=amount, reason=reason)
    return order_refund_settle(refund_id=refund.pk)


@transaction.atomic(durable=True)
def _order_refund_record(*, order_id: int, amount: Money | None, reason: str) -> OrderRefund:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in Order.IN_ESCROW:
        raise errors.OrderStateConflict(details={"status": order.status})
    remaining = Money(order.amount - order.refunded_amount, order.currency)
    refund_money = remaining if amount is None else amount
    if refund_money.currency != order.currency:
        from core.money import CurrencyMismatch

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
    return OrderRefund.objects.create(
        order=order, amount=refund_money.amount, currency=order.currency, reason=reason
    )


def order_refund_settle(*, refund_id: int) -> OrderRefund:
    refund = OrderRefund.objects.select_related("order").get(pk=refund_id)
    if refund.status != PayStatus.PENDING:
        return refund
    money = Money(refund.amount, refund.currency)
    entry = entry_post(
        code="creator.order.refund",
        idempotency_key=f"creators:order-refund:{refund.pk}",
        postings=[
            debit(chart.escrow_key(refund.currency), money),
            credit(chart.wallet_key(refund.order.buyer_id, refund.currency), money),
        ],
        reference=f"order:{refund.order_id}",
        metadata={"refund": refund.pk},
    )
    _order_refund_complete(refund=refund, entry=entry)
    return OrderRefund.objects.get(pk=refund.pk)


@transaction.atomic(durable=True)
def _order_refund_complete(*, refund: OrderRefund, entry: Entry) -> None:
    if OrderRefund.objects.filter(pk=refund.pk, status=PayStatus.PENDING).update(
        status=PayStatus.COMPLETED, entry=entry
    ):
        with in_language_of(refund.order.buyer):
            notification_create(
                recipient=refund.order.buyer,
                actor=refund.order.seller,
                kind="order_refunded",
                target_type="order",
                target_id=refund.order_id,
                data={
                    "order": refund.order_id,
                    "amount": refund.amount,
                    "currency": refund.currency,
                    "text": _("refunded %(amount)s of order #%(order)d")
                    % {
                        "amount": Money(refund.amount, refund.currency).format(),
                        "order": refund.order_id,
                    },
                },
            )


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


# --- memberships ----------------------------------------------------------------------------
def _period() -> timedelta:
    return timedelta(days=settings.CREATOR_MEMBERSHIP_PERIOD_DAYS)


def tier_create(*, creator: User, name: str, price: Money, perks: str = "") -> MembershipTier:
    name = text_clean(value=name, max_length=60, field="name", allow_newlines=False)
    if not name:
        raise errors.InvalidChoice("The tier needs a name.", details={"field": "name"})
    perks = text_clean(value=perks or "", max_length=1000, field="perks")
    amount_check(money=price)
    try:
        with transaction.atomic():
            return MembershipTier.objects.create(
                creator=creator,
                name=name,
                price_amount=price.amount,
                price_currency=price.currency,
                perks=perks,
            )
    except IntegrityError:
        raise errors.InvalidChoice(
            "You already have a tier with this name.", details={"field": "name"}
        ) from None


def membership_subscribe(*, member: User, tier_id: int) -> Membership:
    """Join a tier, paying the first period from the wallet now.

    Raises ``TierNotFound`` (blocked too), ``CannotPaySelf``, ``AlreadyMember``,
    ``InsufficientFunds`` (nothing is kept: the membership ends ``failed``).
    """
    if type(tier_id) is not int or tier_id <= 0:
        raise errors.TierNotFound()
    tier = MembershipTier.objects.select_related("creator").filter(pk=tier_id, is_active=True)
    tier = tier.first()
    if tier is None:
        raise errors.TierNotFound()
    if tier.creator_id == member.pk:
        raise errors.CannotPaySelf()
    _parties_check(payer=member, payee=tier.creator, not_found=errors.TierNotFound)
    try:
        charge = _membership_record(member=member, tier=tier)
    except IntegrityError:
        raise errors.AlreadyMember() from None
    charge = membership_charge_settle(charge_id=charge.pk)
    membership = Membership.objects.get(pk=charge.membership_id)
    if membership.status == Membership.Status.FAILED:
        raise InsufficientFunds()
    return membership


@transaction.atomic(durable=True)
def _membership_record(*, member: User, tier: MembershipTier) -> MembershipCharge:
    now = timezone.now()
    _limits_take(payer_id=member.pk, money=Money(tier.price_amount, tier.price_currency))
    membership = Membership.objects.create(
        tier=tier,
        member=member,
        creator_id=tier.creator_id,
        current_period_start=now,
        current_period_end=now,
    )
    quote = fee_quote(kind="membership", gross=Money(tier.price_amount, tier.price_currency))
    return MembershipCharge.objects.create(
        membership=membership,
        period_start=now,
        period_end=now + _period(),
        amount=quote.gross.amount,
        fee=quote.fee.amount,
        currency=quote.gross.currency,
        attempts=1,
    )


def membership_charge_settle(*, charge_id: int, now: datetime | None = None) -> MembershipCharge:
    """Book a pending membership charge. On insufficient funds the first charge fails the
    membership; a renewal puts it ``past_due`` until the grace period ends, then expires
    it. Safe to run again."""
    charge = MembershipCharge.objects.select_related("membership").get(pk=charge_id)
    if charge.status != PayStatus.PENDING:
        return charge
    membership = charge.membership
    if User.objects.filter(pk=membership.member_id, is_frozen=True).exists():
        # A frozen account pays nothing: the charge is treated as unpaid (a renewal goes
        # past due, then expires; a first charge fails the membership).
        _membership_charge_unpaid(charge=charge, now=now or timezone.now())
        return MembershipCharge.objects.get(pk=charge.pk)
    quote = fee_quote(kind="membership", gross=Money(charge.amount, charge.currency))
    try:
        entry = entry_post(
            code="creator.membership",
            idempotency_key=f"creators:membership-charge:{charge.pk}",
            postings=_split_postings(
                payer_key=chart.wallet_key(membership.member_id, charge.currency),
                payee_key=chart.wallet_key(membership.creator_id, charge.currency),
                quote=quote,
            ),
            reference=f"membership:{membership.pk}",
            metadata={"charge": charge.pk, "fee": quote.fee.amount},
        )
    except InsufficientFunds:
        _membership_charge_unpaid(charge=charge, now=now or timezone.now())
        return MembershipCharge.objects.get(pk=charge.pk)
    if _membership_charge_paid(charge=charge, entry=entry):
        entry_reverse(entry=entry, idempotency_key=f"{entry.idempotency_key}:undo")
    return MembershipCharge.objects.get(pk=charge.pk)


@transaction.atomic(durable=True)
def _membership_charge_unpaid(*, charge: MembershipCharge, now: datetime) -> None:
    membership = Membership.objects.select_for_update().get(pk=charge.membership_id)
    if membership.status == Membership.Status.PENDING:
        if MembershipCharge.objects.filter(pk=charge.pk, status=PayStatus.PENDING).update(
            status=PayStatus.FAILED
        ):
            _limits_give_back(
                payer_id=membership.member_id,
                money=Money(charge.amount, charge.currency),
                reserved_at=charge.created_at,
            )
        membership.status = Membership.Status.FAILED
        membership.save(update_fields=["status"])
        return
    grace_until = membership.grace_until or (
        membership.current_period_end + timedelta(days=settings.CREATOR_MEMBERSHIP_GRACE_DAYS)
    )
    if now >= grace_until:
        MembershipCharge.objects.filter(pk=charge.pk, status=PayStatus.PENDING).update(
            status=PayStatus.FAILED
        )
        membership.status = Membership.Status.EXPIRED
        membership.save(update_fields=["status"])
        kind = "membership_expired"
    else:
        first_failure = membership.status != Membership.Status.PAST_DUE
        membership.status = Membership.Status.PAST_DUE
        membership.grace_until = grace_until
        membership.save(update_fields=["status", "grace_until"])
        if not first_failure:
            return
        kind = "membership_past_due"
    with in_language_of(membership.member):
        notification_create(
            recipient=membership.member,
            kind=kind,
            target_type="membership",
            target_id=membership.pk,
            data={
                "membership": membership.pk,
                "grace_until": grace_until.isoformat(),
                "text": (
                    _("Your membership ended: the renewal could not be paid")
                    if kind == "membership_expired"
                    else _(
                        "Your membership renewal could not be paid; add money before "
                        "%(date)s to keep it"
                    )
                    % {"date": date_format(grace_until, "DATE_FORMAT")}
                ),
            },
        )


@transaction.atomic(durable=True)
def _membership_charge_paid(*, charge: MembershipCharge, entry: Entry) -> bool:
    """Returns True when the entry must be undone (the membership ended meanwhile)."""
    membership = Membership.objects.select_for_update().get(pk=charge.membership_id)
    if not MembershipCharge.objects.filter(pk=charge.pk, status=PayStatus.PENDING).update(
        status=PayStatus.COMPLETED, entry=entry, completed_at=timezone.now()
    ):
        return False
    if membership.status not in (
        Membership.Status.PENDING,
        Membership.Status.ACTIVE,
        Membership.Status.PAST_DUE,
    ):
        # The membership ended meanwhile: the caller gives the money back.
        return True
    new = membership.status == Membership.Status.PENDING
    membership.status = Membership.Status.ACTIVE
    membership.current_period_start = charge.period_start
    membership.current_period_end = charge.period_end
    membership.grace_until = None
    membership.save(
        update_fields=["status", "current_period_start", "current_period_end", "grace_until"]
    )
    if new:
        with in_language_of(membership.tier.creator):
            notification_create(
                recipient=membership.tier.creator,
                actor=membership.member,
                kind="membership_joined",
                target_type="membership",
                target_id=membership.pk,
                data={
                    "tier": membership.tier.name,
                    "text": _("joined %(tier)s") % {"tier": membership.tier.name},
                },
            )
    return False


def membership_cancel(*, member: User, membership_id: int) -> Membership:
    """Stop renewals; access continues until the end of the paid period."""
    updated = Membership.objects.filter(
        pk=membership_id,
        member=member,
        status__in=[Membership.Status.ACTIVE, Membership.Status.PAST_DUE],
    ).update(cancel_at_period_end=True)
    if not updated and not Membership.objects.filter(pk=membership_id, member=member).exists():
        raise errors.MembershipNotFound()
    return Membership.objects.get(pk=membership_id)


def membership_renew(*, membership_id: int, now: datetime | None = None) -> Membership:
    """Renew one due membership (Celery beat). Re-checks the state under a row lock, so a
    second run, or a run before the period ends, changes nothing."""
    now = now or timezone.now()
    charge_id = _membership_renewal_prepare(membership_id=membership_id, now=now)
    if charge_id is not None:
        membership_charge_settle(charge_id=charge_id, now=now)
    return Membership.objects.get(pk=membership_id)


@transaction.atomic(durable=True)
def _membership_renewal_prepare(*, membership_id: int, now: datetime) -> int | None:
    membership = Membership.objects.select_for_update().select_related("tier").get(pk=membership_id)
    live = (Membership.Status.ACTIVE, Membership.Status.PAST_DUE)
    if membership.status not in live or membership.current_period_end > now:
        return None
    if membership.cancel_at_period_end:
        membership.status = Membership.Status.CANCELED
        membership.save(update_fields=["status"])
        return None
    tier = membership.tier
    quote = fee_quote(kind="membership", gross=Money(tier.price_amount, tier.price_currency))
    charge, _ = MembershipCharge.objects.get_or_create(
        membership=membership,
        period_start=membership.current_period_end,
        defaults={
            "period_end": membership.current_period_end + _period(),
            "amount": quote.gross.amount,
            "fee": quote.fee.amount,
            "currency": quote.gross.currency,
        },
    )
    if charge.status != PayStatus.PENDING:
        return None
    MembershipCharge.objects.filter(pk=charge.pk).update(attempts=F("attempts") + 1)
    return charge.pk


def memberships_renew_due(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Renew (or retry, or end) every membership whose period is over. Returns how many
    were looked at."""
    now = now or timezone.now()
    ids = list(
        Membership.objects.filter(
            status__in=[Membership.Status.ACTIVE, Membership.Status.PAST_DUE],
            current_period_end__lte=now,
        )
        .order_by("current_period_end")
        .values_list("pk", flat=True)[:limit]
    )
    for membership_id in ids:
        membership_renew(membership_id=membership_id, now=now)
    return len(ids)


# --- the sweeper ----------------------------------------------------------------------------
def creators_sweep_stuck(*, now: datetime | None = None) -> int:
    """Drive rows left ``pending`` / ``releasing`` by a dead process to a final state,
    with the same ledger keys as the first attempt (so at most one effect)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CREATOR_STUCK_AFTER_SECONDS)
    count = 0
    pending = Q(status=PayStatus.PENDING, created_at__lt=cutoff)
    wallet_tips = Tip.objects.filter(pending, source=Tip.Source.WALLET)
    for pk in wallet_tips.values_list("pk", flat=True)[:SWEEP_BATCH]:
        tip_settle(tip_id=pk)
        count += 1
    for pk in Unlock.objects.filter(pending).values_list("pk", flat=True)[:SWEEP_BATCH]:
        unlock_settle(unlock_id=pk)
        count += 1
    orders = Order.objects.filter(status=Order.Status.PENDING, created_at__lt=cutoff)
    for pk in orders.values_list("pk", flat=True)[:SWEEP_BATCH]:
        order_settle_payment(order_id=pk)
        count += 1
    releasing = Order.objects.filter(status=Order.Status.RELEASING)
    for pk in releasing.values_list("pk", flat=True)[:SWEEP_BATCH]:
        order_release(order_id=pk)
        count += 1
    for pk in OrderRefund.objects.filter(pending).values_list("pk", flat=True)[:SWEEP_BATCH]:
        order_refund_settle(refund_id=pk)
        count += 1
    charges = MembershipCharge.objects.filter(pending, membership__status="pending")
    for pk in charges.values_list("pk", flat=True)[:SWEEP_BATCH]:
        membership_charge_settle(charge_id=pk)
        count += 1
    return count
