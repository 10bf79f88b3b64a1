"""Receipts: a notification and an e-mail for every money event, to each person involved.

``receipt_send`` may be called inside or outside a transaction: the work is queued on
commit (a rolled-back payment sends nothing) and done by a Celery task. The task inserts a
``Receipt`` row with a unique key first, so a task that runs twice (a redelivery, a retry)
notifies once. The e-mail goes out after that row is committed: at most once.

Kinds used by the wallet: ``money_sent``, ``money_received``, ``topup_succeeded``,
``topup_failed``, ``request_received``, ``request_paid``, ``request_declined``,
``request_cancelled``. Other areas add their own (``tip_received``, ``payout_paid`` …).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.services import notification_create
from payments.models import Receipt

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
            )
        ]
    )


def receipts_send(specs: list[ReceiptSpec]) -> None:
    """Queue several receipts as one task (both sides of a payment)."""
    for spec in specs:
        if not spec.key or len(spec.key) > KEY_MAX_LENGTH:
            raise ValueError("a receipt key is 1 to 200 characters")
    payload = [asdict(spec) for spec in specs]

    def enqueue() -> None:
        from payments.tasks import receipts_deliver_task

        receipts_deliver_task.delay(payload)

    transaction.on_commit(enqueue)


def receipt_deliver(*, spec: ReceiptSpec) -> bool:
    """Record the receipt and its notification once, then send the e-mail. Returns False
    when this key was already delivered (a second run is a no-op)."""
    recipient = User.objects.filter(pk=spec.recipient_id).first()
    if recipient is None:
        return False
    actor = User.objects.filter(pk=spec.actor_id).first() if spec.actor_id else None
    try:
        with transaction.atomic():
            Receipt.objects.create(key=spec.key, recipient=recipient, kind=spec.kind)
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
        send_mail(spec.subject, spec.body, None, [recipient.email], fail_silently=False)
    return True
