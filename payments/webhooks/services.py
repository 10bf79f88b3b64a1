"""Webhook intake and processing (after dj-stripe: stored raw and untrusted first, then
verified, then processed by a Celery task, idempotently; reprocessing is allowed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, NotFound
from core.publish import publish_on_commit
from payments.processors import get_processor, objects
from payments.processors.base import (
    TransientProcessorError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from payments.webhooks.models import WebhookDelivery, WebhookEvent
from payments.webhooks.registry import WebhookRetryLater, handlers_for

log = structlog.get_logger(__name__)

KNOWN_PROCESSORS = ("sandbox", "stripe")
KEPT_HEADERS = ("content-type", "content-length", "stripe-signature", "user-agent", "x-request-id")
MAX_HEADER_VALUE = 1024
REDRIVE_BATCH = 500
# What a rejected delivery keeps of its body: enough to recognise it, too little to let
# unsigned posts fill the table.
REJECTED_BODY_KEEP_BYTES = 1024


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """What the endpoint answers: ``code`` is ``accepted``, ``duplicate`` or an error code."""

    status: int
    code: str
    message: str
    event_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status < 300


class WebhookEventBusy(Conflict):
    code = "webhook_event_busy"
    default_message = _("The event is being processed right now.")


def accepted_processors() -> tuple[str, ...]:
    """Only the configured processor's endpoint is live: a sandbox endpoint next to a live
    Stripe account would accept events signed with a well-known development secret."""
    return (settings.PAYMENTS_PROCESSOR,)


def webhook_receive(*, processor: str, body: bytes, headers: Mapping[str, str]) -> ReceiveResult:
    """Verify a delivery, store it, record the event once, enqueue its processing.

    Every delivery is stored (a ``WebhookDelivery``) before its event is acted on. The
    signature is checked first, without touching the database: a verified delivery is
    stored whole; a rejected one keeps only its first ``REJECTED_BODY_KEEP_BYTES`` (enough
    to see what it was), so unsigned junk cannot fill the table.

    Never raises for bad input: every refusal is a ``ReceiveResult`` with a 4xx status and a
    stable code (``unknown_processor``, ``payload_too_large``, ``unsupported_media_type``,
    ``invalid_signature``, ``stale_webhook``, ``malformed_payload``).
    """
    if processor not in KNOWN_PROCESSORS or processor not in accepted_processors():
        return ReceiveResult(404, "unknown_processor", "No webhook endpoint for that processor.")
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return ReceiveResult(413, "payload_too_large", "The webhook body is too large.")
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    kept = {k: lowered[k][:MAX_HEADER_VALUE] for k in KEPT_HEADERS if k in lowered}

    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _reject(
            processor, body, kept, 415, "unsupported_media_type", "Send application/json."
        )
    try:
        event = get_processor(processor).parse_webhook(body, lowered)
    except (WebhookSignatureError, WebhookPayloadError) as exc:
        return _reject(processor, body, kept, 400, exc.code, exc.message)
    # Stored in its own commit before the event: whatever happens next, it is on disk.
    delivery = WebhookDelivery.objects.create(processor=processor, raw_body=body, headers=kept)

    with transaction.atomic(durable=True):
        row, created = WebhookEvent.objects.get_or_create(
            processor=processor,
            event_id=event.id,
            defaults={
                "type": event.type,
                "account": event.account or "",
                "livemode": event.livemode,
                "created_at_processor": event.created,
                "payload": {"id": event.id, "type": event.type, "data": {"object": event.data}},
                "raw_body": body,
            },
        )
        delivery.outcome = (
            WebhookDelivery.Outcome.ACCEPTED if created else WebhookDelivery.Outcome.DUPLICATE
        )
        delivery.event = row
        delivery.save(update_fields=["outcome", "event"])
        if created:
            _enqueue_on_commit(row.pk)
    log.info(
        "webhook.received",
        processor=processor,
        event_id=event.id,
        type=event.type,
        duplicate=not created,
    )
    if created:
        return ReceiveResult(200, "accepted", "Event received.", event.id)
    return ReceiveResult(200, "duplicate", "Event already received.", event.id)


def _reject(
    processor: str, body: bytes, headers: dict, status: int, code: str, message: str
) -> ReceiveResult:
    delivery = WebhookDelivery.objects.create(
        processor=processor,
        raw_body=body[:REJECTED_BODY_KEEP_BYTES],
        headers={**headers, "body-length": str(len(body))},
        outcome=WebhookDelivery.Outcome.REJECTED,
        error_code=code,
    )
    log.warning("webhook.rejected", processor=processor, delivery=delivery.pk, code=code)
    return ReceiveResult(status, code, message)


def _enqueue_on_commit(event_pk: int, *, countdown: float = 0) -> None:
    from payments.webhooks.tasks import webhook_event_process_task

    # Beat's redrive picks up an event whose task never reached the broker.
    publish_on_commit(
        lambda: webhook_event_process_task.apply_async((event_pk,), countdown=countdown),
        task="webhook_event_process",
    )


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    status: str  # processed | ignored | failed | retry | busy | missing | already_<status>
    retry_in: int | None = None


def _backoff(attempt: int) -> int:
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), 3600)


def webhook_event_process(*, event_pk: int) -> ProcessOutcome:
    """Run the handlers of one stored event, at most one worker at a time.

    Locks the event row only to claim it (status ``processing`` with a lease); the handlers
    run after that commit, outside any transaction. A finished event (processed, ignored,
    failed) is left alone, so a duplicate task is a no-op; a claim older than
    ``WEBHOOK_PROCESSING_LEASE_SECONDS`` (a killed worker) may be taken over.
    """
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS)
    with transaction.atomic(durable=True):
        row = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
        if row is None:
            return ProcessOutcome("missing")
        if row.status in {
            WebhookEvent.Status.PROCESSED,
            WebhookEvent.Status.IGNORED,
            WebhookEvent.Status.FAILED,
        }:
            return ProcessOutcome(f"already_{row.status}")
        if (
            row.status == WebhookEvent.Status.PROCESSING
            and row.processing_started_at
            and row.processing_started_at > now - lease
        ):
            # Another worker holds the claim (or held it and was killed): look again once
            # the lease is over, when the claim can be taken over if it is still there.
            left = row.processing_started_at + lease - now
            return ProcessOutcome("busy", retry_in=int(left.total_seconds()) + 1)
        handlers = handlers_for(row.type)
        if not handlers:
            row.status = WebhookEvent.Status.IGNORED
            row.processed_at = now
            row.save(update_fields=["status", "processed_at", "updated_at"])
            return ProcessOutcome("ignored")
        row.status = WebhookEvent.Status.PROCESSING
        row.attempts += 1
        row.processing_started_at = now
        row.next_attempt_at = None
        row.save(
            update_fields=[
                "status",
                "attempts",
                "processing_started_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
        attempt = row.attempts

    event = objects.event_from_body(bytes(row.raw_body), processor=row.processor)
    try:
        for handler in handlers:
            handler(event)
    except (TransientProcessorError, WebhookRetryLater, OperationalError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:4000]
        if attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
            _finish(event_pk, attempt, WebhookEvent.Status.FAILED, error)
            return ProcessOutcome("failed")
        delay = _backoff(attempt)
        _finish(
            event_pk,
            attempt,
            WebhookEvent.Status.RECEIVED,
            error,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        log.info("webhook.retry", event_id=row.event_id, attempt=attempt, delay=delay)
        return ProcessOutcome("retry", retry_in=delay)
    except Exception as exc:
        log.exception("webhook.handler_failed", event_id=row.event_id, type=row.type)
        _finish(
            event_pk, attempt, WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"[:4000]
        )
        return ProcessOutcome("failed")
    _finish(event_pk, attempt, WebhookEvent.Status.PROCESSED, "")
    return ProcessOutcome("processed")


def _finish(event_pk: int, attempt: int, status: str, error: str, *, next_attempt_at=None) -> None:
    # Conditional on our claim: a worker whose lease was taken over must not overwrite.
    WebhookEvent.objects.filter(
        pk=event_pk, status=WebhookEvent.Status.PROCESSING, attempts=attempt
    ).update(
        status=status,
        last_error=error,
        next_attempt_at=next_attempt_at,
        processed_at=timezone.now() if status == WebhookEvent.Status.PROCESSED else None,
        updated_at=timezone.now(),
    )


def webhook_event_reprocess(*, event_pk: int) -> WebhookEvent:
    """Put a finished (or stuck) event back to ``received`` and enqueue it. Raises
    ``NotFound`` and ``WebhookEventBusy`` (a live claim). Locks the event row."""
    lease = timedelta(seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS)
    with transaction.atomic(durable=True):
        row = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
        if row is None:
            raise NotFound("No such webhook event.")
        if (
            row.status == WebhookEvent.Status.PROCESSING
            and row.processing_started_at
            and row.processing_started_at > timezone.now() - lease
        ):
            raise WebhookEventBusy()
        row.status = WebhookEvent.Status.RECEIVED
        row.next_attempt_at = None
        row.save(update_fields=["status", "next_attempt_at", "updated_at"])
        _enqueue_on_commit(row.pk)
    log.info("webhook.reprocess", event_id=row.event_id)
    return row


def webhook_events_redrive() -> int:
    """Enqueue events stuck in ``received`` (a lost task, a retry whose message vanished)
    or ``processing`` past the lease (a killed worker). Returns how many."""
    now = timezone.now()
    stuck = now - timedelta(seconds=settings.WEBHOOK_STUCK_AFTER_SECONDS)
    lease = now - timedelta(seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS)
    from django.db.models import Q

    pks = list(
        WebhookEvent.objects.filter(
            Q(
                status=WebhookEvent.Status.RECEIVED,
                next_attempt_at__isnull=True,
                updated_at__lt=stuck,
            )
            | Q(status=WebhookEvent.Status.RECEIVED, next_attempt_at__lt=stuck)
            | Q(status=WebhookEvent.Status.PROCESSING, processing_started_at__lt=lease)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:REDRIVE_BATCH]
    )
    from payments.webhooks.tasks import webhook_event_process_task

    for pk in pks:
        webhook_event_process_task.delay(pk)
    if pks:
        log.warning("webhook.redrive", count=len(pks))
    return len(pks)


def webhook_deliveries_prune() -> int:
    """Delete rejected and duplicate deliveries older than the retention; accepted ones
    stay with their event. Returns how many were deleted."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(
        outcome__in=[WebhookDelivery.Outcome.REJECTED, WebhookDelivery.Outcome.DUPLICATE],
        received_at__lt=cutoff,
    ).delete()
    return deleted
