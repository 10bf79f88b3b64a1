"""The sandbox processor's clock: webhook delivery and the asynchronous outcomes of payouts
and disputes. Each step re-reads its row under a lock, so a task run twice is a no-op."""

from __future__ import annotations

import urllib.error
import urllib.request

import structlog
from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from payments.processors import signing
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as m

log = structlog.get_logger(__name__)

MAX_DELIVERY_ATTEMPTS = 8  # then the event stays undelivered; redeliver by hand


def _backoff(attempt: int) -> int:
    return min(2**attempt, 300)


@shared_task(name="sandbox.deliver_event", bind=True, ignore_result=True, max_retries=None)
def sandbox_deliver_event(self, event_id: str) -> None:
    """POST one signed event to our webhook intake (or call the intake service directly
    when ``SANDBOX_WEBHOOK_URL`` is empty), retrying like Stripe does on any non-2xx."""
    event = m.Event.objects.filter(id=event_id).first()
    if event is None:
        return  # rolled back, or a test database that is gone
    body = event.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "SandboxProcessor/1.0 (+Stripe-compatible)",
        signing.SIGNATURE_HEADER: signing.signature_header(body, settings.SANDBOX_WEBHOOK_SECRET),
    }
    status, error = _post(body, headers)
    m.Event.objects.filter(id=event_id).update(
        delivery_attempts=F("delivery_attempts") + 1,
        last_delivery_status=status,
        last_delivery_error=error[:1000],
        delivered_at=timezone.now() if 200 <= status < 300 else None,
    )
    if not 200 <= status < 300:
        attempts = self.request.retries + 1
        log.warning(
            "sandbox.webhook_delivery_failed", event_id=event_id, status=status, attempt=attempts
        )
        if attempts < MAX_DELIVERY_ATTEMPTS:
            raise self.retry(countdown=_backoff(attempts))


def _post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    url = settings.SANDBOX_WEBHOOK_URL
    if not url:
        # In-process delivery: the receiver is named by a setting, so processors import
        # nothing of the apps that consume their events.
        receive = import_string(settings.SANDBOX_WEBHOOK_RECEIVER)
        result = receive(processor="sandbox", body=body, headers=headers)
        return result.status, "" if result.status < 300 else result.code
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - operator-configured URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.reason or ""
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return 599, str(exc)


@shared_task(name="sandbox.payout_settle", ignore_result=True)
def sandbox_payout_settle(payout_id: str) -> None:
    if m.Payout.objects.filter(id=payout_id).exists():
        engine.payout_settle(payout_id)


@shared_task(name="sandbox.dispute_open", ignore_result=True)
def sandbox_dispute_open(payment_intent_id: str) -> None:
    if m.PaymentIntent.objects.filter(id=payment_intent_id).exists():
        engine.dispute_open(payment_intent_id)


@shared_task(name="sandbox.dispute_close", ignore_result=True)
def sandbox_dispute_close(dispute_id: str) -> None:
    if m.Dispute.objects.filter(id=dispute_id).exists():
        engine.dispute_close(dispute_id)
