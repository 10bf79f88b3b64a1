"""Outgoing webhooks: endpoints, dispatch and delivery.

Endpoints: ``endpoint_create`` / ``endpoint_update`` / ``endpoint_delete`` /
``endpoint_secret_rotate``. The URL is checked (``addresses``) on every change.

Delivery, in three steps that never hold a transaction across an HTTP call (rule 7):

1. ``events_dispatch`` claims undispatched events (``SKIP LOCKED``) and writes one
   ``Delivery`` per listening endpoint (UNIQUE per event and endpoint), in one transaction
   that also marks the events dispatched; the delivery tasks are queued after commit.
2. ``delivery_attempt`` claims a due delivery (a short UPDATE … WHERE that sets
   ``claimed_until``: two workers never post the same delivery at once), commits, POSTs,
   then records the ``Attempt`` and the outcome in a second short transaction.
3. A failure schedules the next try with exponential backoff (base * 2^n, capped) until
   ``HOOKS_RETRY_FOR`` after the event; then the delivery is ``failed``. ``deliveries_due``
   (beat) re-queues due deliveries whose task was lost.

Every delivery of one event carries the same event id (body ``id`` and the
``SocialPay-Event-Id`` header), so a receiver drops duplicates by id.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from payments.hooks.addresses import resolve_public, url_check
from payments.hooks.errors import (
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
    WebhookEndpointsLimit,
    WebhookEventTypeUnknown,
)
from payments.hooks.models import Attempt, Delivery, Endpoint, Event
from payments.hooks.transport import post
from payments.processors.signing import compute_signature
from payments.wallets.events import EVENT_TYPES

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "SocialPay-Signature"
EVENT_ID_HEADER = "SocialPay-Event-Id"
DISPATCH_BATCH = 200
CLAIM_SECONDS = 120  # longer than a request's timeout: a live attempt is never doubled
DESCRIPTION_MAX = 200


def _public_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _event_types_clean(event_types) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise WebhookEventTypeUnknown(details={"choices": list(EVENT_TYPES)})
    unknown = sorted({t for t in event_types if t not in EVENT_TYPES}, key=str)
    if unknown:
        raise WebhookEventTypeUnknown(details={"unknown": unknown, "choices": list(EVENT_TYPES)})
    return [t for t in EVENT_TYPES if t in set(event_types)]  # the list's order, no repeats


def _url_clean(url: str) -> str:
    _scheme, host, port = url_check(url)
    resolve_public(host, port)
    return url


# --- endpoints ---------------------------------------------------------------------------------
def endpoint_create(
    *, user: User, url: str, event_types: list[str], description: str = ""
) -> Endpoint:
    """Register an endpoint with a new secret. Raises ``WebhookUrlInvalid``,
    ``WebhookUrlForbidden``, ``WebhookEventTypeUnknown``, ``WebhookEndpointsLimit``.
    Locks the user row (so two concurrent creations cannot pass the limit together)."""
    types = _event_types_clean(event_types)
    url = _url_clean(url)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        count = Endpoint.objects.filter(user=user).count()
        if count >= settings.HOOKS_ENDPOINTS_PER_USER_MAX:
            raise WebhookEndpointsLimit(details={"max": settings.HOOKS_ENDPOINTS_PER_USER_MAX})
        return Endpoint.objects.create(
            public_id=_public_id("we_"),
            user=user,
            url=url,
            description=(description or "")[:DESCRIPTION_MAX],
            event_types=types,
            secret=secret_new(),
        )


def endpoint_get(*, user: User, endpoint_id: str) -> Endpoint:
    endpoint = Endpoint.objects.filter(public_id=endpoint_id, user=user).first()
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


def endpoint_update(
    *,
    user: User,
    endpoint_id: str,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> Endpoint:
    """Change what is given. Raises what ``endpoint_create`` raises, and
    ``WebhookEndpointNotFound``."""
    endpoint = endpoint_get(user=user, endpoint_id=endpoint_id)
    fields = ["updated_at"]
    if url is not None:
        endpoint.url = _url_clean(url)
        fields.append("url")
    if event_types is not None:
        endpoint.event_types = _event_types_clean(event_types)
        fields.append("event_types")
    if description is not None:
        endpoint.description = description[:DESCRIPTION_MAX]
        fields.append("description")
    if is_active is not None:
        endpoint.is_active = is_active
        fields.append("is_active")
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=fields)
    return endpoint


def endpoint_delete(*, user: User, endpoint_id: str) -> None:
    """Delete the endpoint with its delivery log. Raises ``WebhookEndpointNotFound``."""
    deleted, _ = Endpoint.objects.filter(public_id=endpoint_id, user=user).delete()
    if not deleted:
        raise WebhookEndpointNotFound()


def endpoint_secret_rotate(*, user: User, endpoint_id: str) -> Endpoint:
    """A new secret; the old one keeps signing beside it for ``HOOKS_SECRET_OVERLAP``.
    Locks the endpoint row. Raises ``WebhookEndpointNotFound``."""
    with transaction.atomic():
        endpoint = (
            Endpoint.objects.select_for_update().filter(public_id=endpoint_id, user=user).first()
        )
        if endpoint is None:
            raise WebhookEndpointNotFound()
        now = timezone.now()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + settings.HOOKS_SECRET_OVERLAP
        endpoint.secret = secret_new()
        endpoint.updated_at = now
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
    return endpoint


# --- the event's body and signature ------------------------------------------------------------
def timestamp_utc(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` (the one timestamp shape of events and this API)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_body(event: Event) -> bytes:
    """The JSON body of every delivery of ``event``: the same bytes each time."""
    return json.dumps(
        {
            "id": event.public_id,
            "object": "event",
            "type": event.kind,
            "created": timestamp_utc(event.created_at),
            "data": event.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def signature_header(body: bytes, secrets_: list[str], timestamp: int) -> str:
    """``t=<unix>,v1=<hmac>[,v1=<hmac under the previous secret>]`` (Stripe's scheme)."""
    parts = [f"t={timestamp}"] + [f"v1={compute_signature(body, s, timestamp)}" for s in secrets_]
    return ",".join(parts)


# --- dispatch ----------------------------------------------------------------------------------
def events_dispatch(*, batch: int = DISPATCH_BATCH) -> int:
    """Turn new events into deliveries and queue them. Returns how many deliveries were
    made. Idempotent (a second run finds nothing new; the UNIQUE constraint covers a race)."""
    made = 0
    while True:
        with transaction.atomic():
            events = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .order_by("id")[:batch]
            )
            if not events:
                return made
            users = {e.user_id for e in events}
            endpoints: dict[int, list[Endpoint]] = {}
            for endpoint in Endpoint.objects.filter(user_id__in=users, is_active=True):
                endpoints.setdefault(endpoint.user_id, []).append(endpoint)
            rows = [
                Delivery(public_id=_public_id("whd_"), event=event, endpoint=endpoint)
                for event in events
                for endpoint in endpoints.get(event.user_id, [])
                if event.kind in endpoint.event_types
            ]
            created = Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            Event.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
            ids = [d.public_id for d in created]
            transaction.on_commit(lambda ids=ids: _queue(ids))
        made += len(rows)


def _queue(public_ids: list[str]) -> None:
    from payments.hooks.tasks import delivery_attempt_task

    for public_id in public_ids:
        try:
            delivery_attempt_task.delay(public_id)
        except Exception:  # the broker is down: deliveries_due picks them up
            log.warning("hooks.queue_failed", delivery=public_id, exc_info=True)
            return


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Queue pending deliveries that are due and unclaimed (a lost task). Returns how many."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .exclude(claimed_until__gt=now)
        .order_by("next_attempt_at")
        .values_list("public_id", flat=True)[:limit]
    )
    _queue(ids)
    return len(ids)


# --- one attempt -------------------------------------------------------------------------------
def backoff_seconds(attempts: int) -> float:
    """The wait after the ``attempts``-th failed try: base * 2^(attempts-1), capped."""
    return min(
        settings.HOOKS_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0)),
        settings.HOOKS_RETRY_MAX_SECONDS,
    )


def _claim(public_id: str, *, manual: bool, now: datetime) -> Delivery | None:
    """Take the delivery for one attempt (its own committed UPDATE). A scheduled attempt
    needs it pending and due; a manual one takes any delivery nobody is posting now."""
    rows = Delivery.objects.filter(public_id=public_id).exclude(claimed_until__gt=now)
    if not manual:
        rows = rows.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    if not rows.update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS)):
        return None
    return Delivery.objects.select_related("event", "endpoint").get(public_id=public_id)


def delivery_attempt(*, public_id: str, manual: bool = False) -> Attempt | None:
    """POST the delivery once and record the outcome. Returns the ``Attempt``, or None when
    the delivery is not due, already done or being posted by another worker.

    Returns the delay before the next try through ``delivery.next_attempt_at``; the task
    schedules itself. Locks nothing across the HTTP call.
    """
    now = timezone.now()
    delivery = _claim(public_id, manual=manual, now=now)
    if delivery is None:
        return None
    event, endpoint = delivery.event, delivery.endpoint
    body = event_body(event)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "SocialPay-Webhooks/1",
        SIGNATURE_HEADER: signature_header(body, endpoint.secrets_signing(now), timestamp),
        EVENT_ID_HEADER: event.public_id,
    }
    result = post(endpoint.url, body, headers, timeout=settings.HOOKS_TIMEOUT_SECONDS)
    ok = result.status_code is not None and 200 <= result.status_code < 300
    done_at = timezone.now()
    with transaction.atomic():
        attempt = Attempt.objects.create(
            delivery=delivery,
            started_at=now,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=result.error,
            response_excerpt=result.excerpt,
            manual=manual,
        )
        attempts = delivery.attempts + 1
        update = {"attempts": F("attempts") + 1, "claimed_until": None}
        if ok:
            update |= {"status": Delivery.Status.DELIVERED, "delivered_at": done_at}
        elif delivery.status == Delivery.Status.PENDING:
            next_at = done_at + timedelta(seconds=backoff_seconds(attempts))
            if next_at - event.created_at > settings.HOOKS_RETRY_FOR:
                update["status"] = Delivery.Status.FAILED
            else:
                update["next_attempt_at"] = next_at
        # A manual retry of a failed or delivered delivery leaves its status as it was
        # unless it succeeds now.
        Delivery.objects.filter(pk=delivery.pk).update(**update)
    log.info(
        "hooks.attempt",
        delivery=public_id,
        event_id=event.public_id,
        status_code=result.status_code,
        error=result.error,
        ok=ok,
    )
    return attempt


def delivery_redeliver(*, user: User, delivery_id: str) -> Delivery:
    """Queue one more attempt of a delivery now, whatever its status (same event id).
    Raises ``WebhookDeliveryNotFound``."""
    delivery = Delivery.objects.filter(public_id=delivery_id, endpoint__user=user).first()
    if delivery is None:
        raise WebhookDeliveryNotFound()
    from payments.hooks.tasks import delivery_attempt_task

    transaction.on_commit(lambda: delivery_attempt_task.delay(delivery_id, manual=True))
    return delivery


def hooks_prune(*, now: datetime | None = None) -> int:
    """Delete events (with their deliveries and attempts) older than the retention, once
    no delivery of theirs is still pending. Returns how many events went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.HOOKS_DELIVERY_RETENTION_DAYS)
    old = Event.objects.filter(created_at__lt=cutoff, dispatched_at__isnull=False).exclude(
        deliveries__status=Delivery.Status.PENDING
    )
    _deleted, by_model = old.delete()
    return by_model.get("hooks.Event", 0)
