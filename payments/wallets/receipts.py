"""Receipts: a notification and an e-mail for every money event, to each person involved.

``receipts_send`` is called inside the money event's transaction (or on its own): it writes
one ``ReceiptOutbox`` row there — a transactional outbox, so a committed payment always
gets its receipts and a rolled-back one never does, whatever the broker is doing — and,
after commit, wakes the worker (``receipts_outbox_drain``). Waking is debounced per process
(``RECEIPTS_KICK_SECONDS``): under load one message wakes the worker for many payments
instead of one Celery publish per payment on the hot path; beat drains the outbox every
second, so a receipt whose wake-up was folded into an earlier one waits at most that long.

Delivery inserts a ``Receipt`` row with a unique key first, so an outbox row delivered twice
(a worker killed before deleting it) notifies once. The e-mail goes out after that row is
committed, and the row keeps the receipt (``email_spec``) until the e-mail has gone: a
worker that dies in between (its machine gone, after a batch's commit and before its
e-mails) leaves the specs behind, and ``receipt_emails_sweep`` (beat) sends them once they
are ``RECEIPT_EMAIL_RETRY_AFTER_SECONDS`` old. So a committed payment's e-mail is sent at
least once; it can be sent twice only when a worker dies between handing one e-mail to the
mail server and recording it (one e-mail per dying worker thread, not a batch).

``payment_receipts`` is the one builder of a payment's receipts: each side's subject, body
and notification line are written in that person's language, money formatted for them, and
queued together in one outbox row. Every money flow uses it (transfers, requests, creators,
payouts).

Kinds used by the wallet: ``money_sent``, ``money_received``, ``topup_succeeded``,
``topup_failed``, ``request_received``, ``request_paid``, ``request_declined``,
``request_cancelled``. Other areas add their own (``tip_received``, ``payout_paid`` …).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.language import in_language_of
from accounts.models import User
from accounts.services import notification_create
from core.email_layout import email_site_context
from core.money import Money
from payments.wallets.events import EventSpec, events_cte, events_written
from payments.wallets.models import Receipt, ReceiptOutbox
from payments.wallets.selectors import payment_detail_kinds, payment_detail_url

log = structlog.get_logger(__name__)

KEY_MAX_LENGTH = 200


@dataclass(frozen=True)
class ReceiptSpec:
    key: str  # unique per event and recipient, e.g. "transfer:42:recipient"
    kind: str
    recipient_id: int
    subject: str
    body: str
    actor_id: int | None = None
    target_type: str = ""
    target_id: int | None = None
    data: dict = field(default_factory=dict)
    link: str = ""  # a path on this site: the payment's page, linked from the e-mail


def receipt_send(
    *,
    key: str,
    kind: str,
    recipient_id: int,
    subject: str,
    body: str,
    actor_id: int | None = None,
    target_type: str = "",
    target_id: int | None = None,
    data: dict | None = None,
    link: str = "",
) -> None:
    """Queue one receipt (notification + e-mail) for after commit; idempotent per ``key``."""
    receipts_send(
        [
            ReceiptSpec(
                key=key,
                kind=kind,
                recipient_id=recipient_id,
                subject=subject,
                body=body,
                actor_id=actor_id,
                target_type=target_type,
                target_id=target_id,
                data=data or {},
                link=link,
            )
        ]
    )


@dataclass(frozen=True)
class ReceiptSide:
    """One person's receipt of a money event (see ``payment_receipts``).

    ``subject``, ``body`` (lines) and ``text`` (the notification's line, optional) are
    translatable templates; they are formatted in ``user``'s language with ``handle`` (the
    other party's), ``amount`` (the event's money, formatted for the reader), ``note`` and
    the event's own ``params`` (a callable param, such as a date to format, is called in
    the reader's language).
    """

    role: str  # the key's last part: "sender", "recipient", "creator" …
    user: User
    kind: str
    subject: str
    body: Sequence[str]
    other: User | None = None
    text: str | None = None


def payment_receipts(
    *,
    event: str,
    target_type: str,
    target_id: int,
    money: Money | None,
    sides: Sequence[ReceiptSide],
    data: dict | None = None,
    params: dict | None = None,
    events: Sequence[EventSpec | None] = (),
    link: str = "",
) -> None:
    """Queue the receipts of one money event, one per side, in the caller's transaction.

    The e-mails link to ``link``, by default the detail page of the payment the event
    names (``transfer:42`` → /wallet/payments/transfer/42) when its kind has one.

    ``events`` (``payments.wallets.events.event_spec``) are the event's webhooks, written
    in the same statement as the receipts.

    ``event`` names the event once (``transfer:42``, ``tip:7``); each receipt's key is
    ``{event}:{role}``, so a replay of the same event notifies nobody twice.
    """
    link = link or _event_link(event)
    specs = []
    for side in sides:
        with in_language_of(side.user):
            values = {
                "handle": side.other.handle if side.other is not None else "",
                "amount": money.format() if money is not None else "",
                "note": "",
                **{k: v() if callable(v) else v for k, v in (params or {}).items()},
            }
            subject = str(side.subject) % values
            body = "\n".join(str(line) % values for line in side.body)
            extra = {"text": str(side.text) % values} if side.text is not None else {}
        specs.append(
            ReceiptSpec(
                key=f"{event}:{side.role}",
                kind=side.kind,
                recipient_id=side.user.pk,
                actor_id=side.other.pk if side.other is not None else None,
                target_type=target_type,
                target_id=target_id,
                data={**(data or {}), **extra},
                subject=subject,
                body=body,
                link=link,
            )
        )
    receipts_send(specs, events=[e for e in events if e is not None])


def _event_link(event: str) -> str:
    kind, _sep, rest = event.partition(":")
    ident = rest.split(":", 1)[0]
    if kind == "request":
        return reverse("payments:wallet-requests")
    if kind in payment_detail_kinds() and ident:
        return payment_detail_url(kind, ident)
    return ""


_OUTBOX_INSERT_SQL = "INSERT INTO payments_receiptoutbox (payload, created_at) VALUES (%s, now())"


def receipts_send(specs: list[ReceiptSpec], *, events: Sequence[EventSpec] = ()) -> None:
    """Queue several receipts (both sides of a payment) in the caller's transaction, and
    the webhook ``events`` with them in the same statement."""
    for spec in specs:
        if not spec.key or len(spec.key) > KEY_MAX_LENGTH:
            raise ValueError("a receipt key is 1 to 200 characters")
    payload = json.dumps([asdict(spec) for spec in specs])
    with connection.cursor() as cur:
        if events:
            cte, params = events_cte(list(events))
            returning = "RETURNING (SELECT count(*) FROM hook_events)"
            sql = f"WITH {cte} {_OUTBOX_INSERT_SQL} {returning}"
            cur.execute(sql, [*params, payload])
            events_written(cur.fetchone()[0])
        else:
            cur.execute(_OUTBOX_INSERT_SQL, [payload])
    transaction.on_commit(_wake_worker)


_last_wake = float("-inf")


def _wake_worker() -> None:
    """Ask a worker to drain the outbox, at most once per ``RECEIPTS_KICK_SECONDS`` in
    this process. A failure to publish loses nothing: the rows wait for beat's drain."""
    global _last_wake
    now = time.monotonic()
    if now - _last_wake < settings.RECEIPTS_KICK_SECONDS:
        return
    _last_wake = now
    from payments.wallets.tasks import receipts_outbox_drain_task

    try:
        receipts_outbox_drain_task.delay()
    except Exception:  # the broker is down: beat will drain the outbox when it is back
        log.warning("receipts.wake_failed", exc_info=True)


# A drain stops taking batches after this long (the task then queues the next drain): a
# batch started later could meet CELERY_TASK_SOFT_TIME_LIMIT (60 s) while its e-mails go
# out after its commit, and the rest of them would never be sent.
DRAIN_RUN_SECONDS = 30.0


def receipts_outbox_drain(*, batch: int = 100, run_seconds: float | None = None) -> int:
    """Deliver every receipt waiting in the outbox; returns how many events were handled.

    Rows are claimed with ``SKIP LOCKED``, so several workers drain side by side without
    waiting for each other. Each batch is one transaction: the ``Receipt`` rows and
    notifications commit together with the deletion of the outbox rows, and the e-mails
    are sent after that commit. A row whose delivery fails is logged and left for the next
    drain instead of blocking the others. With ``run_seconds``, no batch is started after
    that long (at least one is).
    """
    handled = 0
    started = time.monotonic()
    while True:
        with transaction.atomic():
            rows = list(
                ReceiptOutbox.objects.select_for_update(skip_locked=True).order_by("id")[:batch]
            )
            if not rows:
                return handled
            done = []
            for row in rows:
                try:
                    with transaction.atomic():
                        for spec in row.payload:
                            receipt_deliver(spec=ReceiptSpec(**spec))
                except Exception:
                    log.error("receipts.delivery_failed", outbox_id=row.pk, exc_info=True)
                    continue
                done.append(row.pk)
            ReceiptOutbox.objects.filter(pk__in=done).delete()
        handled += len(done)
        if len(done) < len(rows):
            return handled  # a failing row stays; do not spin on it
        if run_seconds is not None and time.monotonic() - started > run_seconds:
            return handled


def receipt_deliver(*, spec: ReceiptSpec) -> bool:
    """Record the receipt and its notification once, then send the e-mail. Returns False
    when this key was already delivered (a second run is a no-op)."""
    recipient = User.objects.filter(pk=spec.recipient_id).first()
    if recipient is None:
        return False
    actor = User.objects.filter(pk=spec.actor_id).first() if spec.actor_id else None
    try:
        with transaction.atomic():
            receipt = Receipt.objects.create(
                key=spec.key,
                recipient=recipient,
                kind=spec.kind,
                # Kept until the e-mail has gone (the sweep sends what a dead worker left).
                email_spec=asdict(spec) if recipient.email else None,
            )
            # The actor may be muted or blocked by now; a money receipt still reaches the
            # person, only without the actor attached.
            made = notification_create(
                recipient=recipient,
                actor=actor,
                kind=spec.kind,
                target_type=spec.target_type,
                target_id=spec.target_id,
                data=spec.data,
            )
            if made is None:
                notification_create(
                    recipient=recipient,
                    kind=spec.kind,
                    target_type=spec.target_type,
                    target_id=spec.target_id,
                    data=spec.data,
                )
    except IntegrityError:
        return False
    if recipient.email:
        message = receipt_email(spec=spec, recipient=recipient)
        receipt_id = receipt.pk
        # After the Receipt row is committed (at once when there is no transaction).
        transaction.on_commit(lambda: _email_send(receipt_id, message))
    return True


def _email_send(receipt_id: int, message: EmailMultiAlternatives) -> None:
    """Send one receipt's e-mail and record it sent (the spec is cleared)."""
    message.send(fail_silently=False)
    Receipt.objects.filter(pk=receipt_id).update(email_spec=None, email_sent_at=timezone.now())


def receipt_emails_sweep(*, now: datetime | None = None, batch: int = 200) -> int:
    """Send the receipt e-mails a dead worker left unsent: those whose ``Receipt`` still
    holds its spec ``RECEIPT_EMAIL_RETRY_AFTER_SECONDS`` after it was written. Each is
    claimed (``SKIP LOCKED``) so that two sweeps never send the same one; a failing send
    is logged and left for the next sweep. Returns how many were sent."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.RECEIPT_EMAIL_RETRY_AFTER_SECONDS)
    sent = 0
    while True:
        with transaction.atomic():
            rows = list(
                Receipt.objects.select_for_update(skip_locked=True)
                .filter(email_spec__isnull=False, created_at__lt=cutoff)
                .select_related("recipient")
                .order_by("created_at")[:batch]
            )
            if not rows:
                return sent
            for row in rows:
                if not row.recipient.email:
                    row.email_spec = None
                    row.save(update_fields=["email_spec"])
                    continue
                try:
                    spec = ReceiptSpec(**row.email_spec)
                    receipt_email(spec=spec, recipient=row.recipient).send(fail_silently=False)
                except Exception:
                    log.error("receipts.email_resend_failed", receipt_id=row.pk, exc_info=True)
                    continue
                # Recorded under the claim, committed with the batch.
                row.email_spec, row.email_sent_at = None, timezone.now()
                row.save(update_fields=["email_spec", "email_sent_at"])
                sent += 1
                log.info("receipts.email_resent", receipt_id=row.pk, kind=row.kind)
        if len(rows) < batch:
            return sent


def _is_payment_page(path: str) -> bool:
    try:
        return bool(path) and resolve(path.split("?", 1)[0]).url_name == "wallet-payment"
    except Resolver404:
        return False


def receipt_email(*, spec: ReceiptSpec, recipient: User) -> EmailMultiAlternatives:
    """The receipt as an e-mail in the recipient's language: the text (subject and body
    were written in that language when the payment was booked) and the same words in the
    branded HTML layout, with a button to the payment's page."""
    with in_language_of(recipient):
        context = {
            **email_site_context(),
            "subject": spec.subject,
            "body": spec.body,
            "lines": [line for line in spec.body.splitlines() if line.strip()],
            "button_url": f"{settings.SITE_URL}{spec.link}" if spec.link else "",
            # A payment's own page, or another page (requests, payouts, verification).
            "button_label": _("View the payment")
            if _is_payment_page(spec.link)
            else _("See the details"),
            "LANGUAGE_CODE": get_language(),
        }
        text = render_to_string("emails/receipt.txt", context).strip() + "\n"
        html = render_to_string("emails/receipt.html", context)
    message = EmailMultiAlternatives(spec.subject, text, None, [recipient.email])
    message.attach_alternative(html, "text/html")
    return message
