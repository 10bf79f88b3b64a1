"""Tips to a creator, on a post or on the profile (the tip jar), from the wallet or by card.

Both sources share one path (``tip_send``): the same checks of the target, amount, message
and visibility, the same payer check, the same fee split, entry code family and receipts.
They differ only where the money comes from:

- **wallet**: one transaction of the package's shape — payer check and limit reservation,
  the ``Tip`` row, the entry (D wallet:tipper · C wallet:creator · C fees), the row marked
  completed, the receipts;
- **card**: the processor sits in between. Record the intent (the payer check and the
  ``pending`` row) and commit; call the processor with key ``creators-tip-{id}`` (no
  transaction open); record the payment id or the decline. The creator is credited by
  ``tip_settle_card`` when the processor's webhook confirms the payment (one transaction:
  D processor_clearing · C wallet:creator · C fees). A card tip does not count against the
  wallet's send limits; the step-up rule applies to it like to every outgoing payment.

``tips_card_sweep`` (Celery beat, through ``creators_sweep_stuck``) asks the processor
about card tips whose webhook never arrived.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.money import Money
from ledger import chart
from ledger.models import Entry
from payments.creators import errors
from payments.creators.fees import FeeQuote, fee_quote
from payments.creators.models import PayStatus, Tip, Visibility
from payments.creators.services.common import (
    SWEEP_BATCH,
    amount_check,
    message_clean,
    paid_or_raise,
    payee_check,
    payee_resolve,
    payment_completed,
    payment_insert,
    post_get_for_payment,
    split_entry,
)
from payments.wallets.events import event_spec
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSide, payment_receipts
from payments.wallets.text import visibility_parse
from posts.models import Post

log = structlog.get_logger(__name__)

#: ``metadata.kind`` of the processor payments made for card tips (webhook routing).
CARD_TIP_KIND = "creator_tip"
PAYMENT_METHOD_MAX_LENGTH = 255


def tip_send(
    *,
    tipper: User,
    amount: Money,
    request_key: str,
    post_id: int | None = None,
    creator: User | None = None,
    creator_handle: str | None = None,
    message: str = "",
    visibility: str | None = Visibility.PRIVATE,
    show_amount: bool = False,
    payment_method: str | None = None,
    reauthenticated: bool | None = None,
) -> Tip:
    """Tip the author of ``post_id`` (or the tip jar of ``creator``, or of the person with
    ``creator_handle``): from the wallet, or by card when ``payment_method`` (a processor
    token such as ``pm_card_visa``) is given.

    ``request_key`` (the API Idempotency-Key or the form key) makes a retry return the
    first tip. ``reauthenticated``: what the request proved (the step-up rule).
    Locks: the tipper's user row (share) and ``SendLimit`` row, the tipper's wallet.
    Raises ``CannotPaySelf``, ``PostNotFound``/``CreatorNotFound`` (also when either side
    blocked the other), ``AmountOutOfRange``, ``InvalidChoice``, text errors for the
    message, ``AccountFrozen``, ``LimitExceeded``/``VelocityExceeded`` and
    ``InsufficientFunds`` (wallet), ``ReauthenticationRequired``, and for cards
    ``CardDeclined`` (402; the tip is failed) and ``ProcessorUnavailable`` (503: the tip
    stays pending; a retry with the same request key calls the processor again with the
    same key, so there is one payment at most).
    """
    post: Post | None = None
    if post_id is not None:
        post = post_get_for_payment(post_id, payer=tipper)
        creator = post.author
        payee_check(
            payer=tipper, payee=creator, not_found=errors.PostNotFound, blocked=post.payer_blocked
        )
    elif creator_handle is not None:
        creator = payee_resolve(
            payer=tipper, handle=creator_handle, not_found=errors.CreatorNotFound
        )
    elif creator is not None:
        payee_check(payer=tipper, payee=creator, not_found=errors.CreatorNotFound)
    else:
        raise errors.CreatorNotFound()
    amount_check(money=amount)
    fields = {
        "message": message_clean(message),
        "visibility": visibility_parse(
            visibility, choices=Visibility.values, default=Visibility.PRIVATE
        ),
        "show_amount": bool(show_amount),
    }
    if payment_method is not None and (
        not isinstance(payment_method, str)
        or not 1 <= len(payment_method) <= PAYMENT_METHOD_MAX_LENGTH
    ):
        raise errors.InvalidChoice(details={"field": "payment_method"})
    quote = fee_quote(kind="tip", gross=amount)
    if payment_method is None:
        # No lookup of an earlier tip with this key first: the insert finds it (the key is
        # unique per tipper), which spares every first attempt a query.
        return _tip_from_wallet(
            tipper=tipper,
            creator=creator,
            post=post,
            quote=quote,
            request_key=request_key,
            reauthenticated=reauthenticated,
            fields=fields,
        )
    existing = Tip.objects.filter(tipper=tipper, request_key=request_key).first()
    if existing is not None and existing.processor_payment_id:
        return paid_or_raise(existing)
    return _tip_by_card(
        tip=existing,
        tipper=tipper,
        creator=creator,
        post=post,
        quote=quote,
        request_key=request_key,
        reauthenticated=reauthenticated,
        fields=fields,
        payment_method=payment_method,
    )


def tip_send_card(*, payment_method: str, **kwargs) -> Tip:
    """``tip_send`` by card (the same path; kept for callers that name the source)."""
    return tip_send(payment_method=payment_method, **kwargs)


def _tip_insert(*, tipper, creator, post, quote: FeeQuote, request_key: str, source: str, fields):
    tip = _tip_row(
        tipper=tipper, creator=creator, post=post, quote=quote, request_key=request_key,
        source=source, fields=fields,
    )  # fmt: skip
    tip.save(force_insert=True)
    return tip


def _tip_row(*, tipper, creator, post, quote: FeeQuote, request_key: str, source: str, fields):
    """A new tip, not saved yet."""
    return Tip(
        tipper=tipper,
        creator=creator,
        post=post,
        amount=quote.gross.amount,
        fee=quote.fee.amount,
        currency=quote.gross.currency,
        source=source,
        request_key=request_key,
        **fields,
    )


def _tip_from_wallet(
    *,
    tipper: User,
    creator: User,
    post: Post | None,
    quote: FeeQuote,
    request_key: str,
    reauthenticated: bool | None,
    fields: dict,
) -> Tip:
    """The package's shape: one transaction (see ``services/__init__``).

    The row is inserted before the payer check: a retry with a used request key stops at
    the unique key and returns the first tip, without checking (or reserving) the limits
    again for a payment that was already made. A refused check rolls the row back."""
    with transaction.atomic():
        tip = _tip_row(
            tipper=tipper, creator=creator, post=post, quote=quote, request_key=request_key,
            source=Tip.Source.WALLET, fields=fields,
        )  # fmt: skip
        if not payment_insert(tip, key="tip_request_once"):
            # The same request key was used before (or by a concurrent retry): that tip.
            return paid_or_raise(Tip.objects.get(tipper=tipper, request_key=request_key))
        payer_check(
            payer_id=tipper.pk,
            money=quote.gross,
            reauthenticated=reauthenticated,
            reserve=True,
        )
        entry = split_entry(
            code="creator.tip",
            idempotency_key=f"creators:tip:{tip.pk}",
            payer_key=chart.wallet_key(tipper.pk, tip.currency),
            payee_key=chart.wallet_key(creator.pk, tip.currency),
            quote=quote,
            reference=f"tip:{tip.pk}",
            metadata={"post": tip.post_id},
        )
        _tip_complete(tip=tip, entry=entry)
    return tip


def _tip_complete(*, tip: Tip, entry: Entry) -> None:
    """Inside the tip's transaction: mark it completed and write both receipts."""
    now = timezone.now()
    payment_completed(Tip, pk=tip.pk, entry=entry, now=now)
    tip.status, tip.entry, tip.completed_at = PayStatus.COMPLETED, entry, now
    payment_receipts(
        event=f"tip:{tip.pk}",
        target_type="post" if tip.post_id else "profile",
        target_id=tip.post_id or tip.creator_id,
        money=Money(tip.amount, tip.currency),
        data={
            "tip": tip.pk,
            "amount": tip.amount,
            "currency": tip.currency,
            "message": tip.message,
        },
        params={"note": f" · {tip.message}" if tip.message else ""},
        # As a transfer's: the webhook event goes in the receipts' own statement.
        events=[
            event_spec(
                "tip.received",
                tip.creator_id,
                {
                    "tip": tip.pk,
                    "post": tip.post_id,
                    "amount": Money(tip.amount, tip.currency).as_dict(),
                    "fee": Money(tip.fee, tip.currency).as_dict(),
                    "from": tip.tipper.handle,
                    "message": tip.message,
                },
            )
        ],
        sides=[
            ReceiptSide(
                role="creator",
                user=tip.creator,
                other=tip.tipper,
                kind="tip_received",
                subject=_("@%(handle)s tipped you %(amount)s"),
                body=[_("@%(handle)s tipped you %(amount)s%(note)s.")],
                text=_("tipped you %(amount)s"),
            ),
            ReceiptSide(
                role="tipper",
                user=tip.tipper,
                other=tip.creator,
                kind="tip_sent",
                subject=_("You tipped @%(handle)s %(amount)s"),
                body=[_("You tipped @%(handle)s %(amount)s%(note)s.")],
                text=_("— you tipped them %(amount)s."),
            ),
        ],
    )


# --- by card --------------------------------------------------------------------------------
def _tip_by_card(
    *,
    tip: Tip | None,
    tipper: User,
    creator: User,
    post: Post | None,
    quote: FeeQuote,
    request_key: str,
    reauthenticated: bool | None,
    fields: dict,
    payment_method: str,
) -> Tip:
    from payments.processors import get_processor
    from payments.processors.base import CardDeclined, PaymentRequest, TransientProcessorError

    if tip is None:
        try:
            # The intent, committed before the processor is called (never inside a
            # transaction across the call).
            with transaction.atomic(durable=True):
                payer_check(payer_id=tipper.pk, money=quote.gross, reauthenticated=reauthenticated)
                tip = _tip_insert(
                    tipper=tipper,
                    creator=creator,
                    post=post,
                    quote=quote,
                    request_key=request_key,
                    source=Tip.Source.CARD,
                    fields=fields,
                )
        except IntegrityError:
            tip = Tip.objects.filter(tipper=tipper, request_key=request_key).first()
            if tip is None:
                raise
    if tip.status != PayStatus.PENDING or tip.processor_payment_id:
        return paid_or_raise(tip)
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
        tip_fail_card(tip_id=tip.pk, code=errors.CardDeclined.code)
        raise errors.CardDeclined() from exc
    except TransientProcessorError as exc:
        raise errors.ProcessorUnavailable() from exc
    Tip.objects.filter(pk=tip.pk, processor_payment_id="").update(processor_payment_id=payment.id)
    return Tip.objects.get(pk=tip.pk)


def tip_settle_card(
    *, tip_id: int, processor: str, payment_id: str, amount: int, currency: str
) -> Tip | None:
    """Credit a card tip once the processor confirmed it (webhook handler, sweeper).

    One transaction: the tip row locked, the entry (key ``creators:tip:{id}``), the row
    completed, the receipts. Idempotent: a settled or failed tip is returned unchanged. A
    payment that does not match the tip (amount, currency, or another payment id) is
    refused and the tip failed. Locks: the tip row.
    """
    with transaction.atomic():
        tip = (
            Tip.objects.select_for_update(of=("self",))
            .select_related("tipper", "creator")
            .filter(pk=tip_id, source=Tip.Source.CARD)
            .first()
        )
        if tip is None or tip.status != PayStatus.PENDING:
            return tip
        if (amount, currency) != (tip.amount, tip.currency) or (
            tip.processor_payment_id and tip.processor_payment_id != payment_id
        ):
            Tip.objects.filter(pk=tip.pk).update(
                status=PayStatus.FAILED, failure_code="payment_mismatch"
            )
            return Tip.objects.get(pk=tip.pk)
        quote = fee_quote(kind="tip", gross=Money(tip.amount, tip.currency))
        entry = split_entry(
            code="creator.tip.card",
            idempotency_key=f"creators:tip:{tip.pk}",
            payer_key=chart.processor_clearing_key(processor, tip.currency),
            payee_key=chart.wallet_key(tip.creator_id, tip.currency),
            quote=quote,
            reference=f"tip:{tip.pk}",
            metadata={"post": tip.post_id, "payment": payment_id[:100]},
        )
        if not tip.processor_payment_id:
            Tip.objects.filter(pk=tip.pk).update(processor_payment_id=payment_id)
            tip.processor_payment_id = payment_id
        _tip_complete(tip=tip, entry=entry)
    return tip


class TipPaymentMismatch(Exception):
    """A processor event names a card tip that its payment does not belong to: an event of
    a connected account (a creator's own processor account, not the platform's), another
    payment id than the one recorded, or a payment whose processor record was not made for
    this tip. Nothing is credited and the tip stays as it was (its own payment may still
    come); the webhook event ends ``failed`` with this message, for staff to look at."""


def tip_settle_card_event(
    *, tip_id: int, processor: str, payment_id: str, account: str | None
) -> Tip | None:
    """The webhook's way in: bind the event to the tip as top-ups do, then settle.

    Checked before anything is credited: the event is of the platform's own processor
    account (a connected account's payment, even with our metadata, is some other
    business's money), the payment is the one recorded for the tip (or, when the event
    overtook the processor's answer, one whose processor record names this tip), and the
    processor's own record of it (not the event body) says succeeded and gives the amount
    and currency that ``tip_settle_card`` compares with the tip. Raises
    ``TipPaymentMismatch``; processor errors propagate (the handler retries transient
    ones). Returns None for an unknown tip."""
    from payments.processors import get_processor
    from payments.processors.base import PaymentStatus

    if account:
        raise TipPaymentMismatch(f"tip {tip_id}: event of connected account {account}")
    tip = Tip.objects.filter(pk=tip_id, source=Tip.Source.CARD).first()
    if tip is None:
        return None
    if tip.status != PayStatus.PENDING:
        return tip
    if tip.processor_payment_id and tip.processor_payment_id != payment_id:
        raise TipPaymentMismatch(
            f"tip {tip.pk} was charged as {tip.processor_payment_id}, not {payment_id}"
        )
    payment = get_processor(processor).retrieve_payment(payment_id)
    if payment.id != payment_id or (
        payment.metadata.get("kind"),
        payment.metadata.get("tip"),
    ) != (CARD_TIP_KIND, str(tip.pk)):
        raise TipPaymentMismatch(f"payment {payment_id} was not made for tip {tip.pk}")
    if payment.status != PaymentStatus.SUCCEEDED:
        return tip  # an out-of-order or stale event: the succeeded one will follow
    return tip_settle_card(
        tip_id=tip.pk,
        processor=processor,
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency.upper(),
    )


def tip_fail_card(
    *, tip_id: int, code: str, payment_id: str = "", account: str | None = None
) -> None:
    """The processor reported the card payment failed: the tip never credits anyone.

    A notice from a connected account, or about another payment than the one recorded
    for the tip, changes nothing (it cannot fail a fan's real tip)."""
    if account:
        return
    tips = Tip.objects.filter(pk=tip_id, source=Tip.Source.CARD, status=PayStatus.PENDING)
    if payment_id:
        tips = tips.filter(Q(processor_payment_id="") | Q(processor_payment_id=payment_id))
    tips.update(status=PayStatus.FAILED, failure_code=code[:60])


def tips_card_sweep(*, now: datetime | None = None) -> int:
    """Finish card tips whose webhook never came: for each tip pending longer than
    ``CREATOR_STUCK_AFTER_SECONDS`` with a processor payment, ask the processor and apply
    its answer (settle a succeeded payment, fail a declined or canceled one). Returns how
    many tips were finished. A tip without a payment id never reached the processor's
    answer; the retry of its request, which calls the processor with the same key, finishes
    it."""
    from payments.processors import get_processor
    from payments.processors.base import PaymentStatus, TransientProcessorError

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CREATOR_STUCK_AFTER_SECONDS)
    stuck = (
        Tip.objects.filter(source=Tip.Source.CARD, status=PayStatus.PENDING, created_at__lt=cutoff)
        .exclude(processor_payment_id="")
        .order_by("created_at")
        .values_list("pk", "processor_payment_id")[:SWEEP_BATCH]
    )
    if not stuck:
        return 0
    processor = get_processor()
    finished = 0
    for tip_id, payment_id in stuck:
        try:
            payment = processor.retrieve_payment(payment_id)
        except TransientProcessorError:
            log.warning("creators.card_tip_sweep_unavailable", tip_id=tip_id)
            continue
        if payment.status == PaymentStatus.SUCCEEDED:
            tip_settle_card(
                tip_id=tip_id,
                processor=processor.name,
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency.upper(),
            )
        elif payment.status in (PaymentStatus.CANCELED, PaymentStatus.REQUIRES_PAYMENT_METHOD):
            tip_fail_card(tip_id=tip_id, code=payment.decline_code or "payment_failed")
        else:
            continue  # still processing at the processor: ask again next time
        finished += 1
    return finished


def creators_sweep_stuck(*, now: datetime | None = None) -> int:
    """The creators' sweeper (Celery beat). Only processor-bound flows can be left half
    done, so only card tips and guest payments are swept; every other flow commits in one
    transaction."""
    from payments.creators.services.guests import guests_sweep

    return tips_card_sweep(now=now) + guests_sweep(now=now)
