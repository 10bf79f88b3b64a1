"""Outgoing webhooks: endpoints, dispatch and delivery.

Endpoints: ``endpoint_create`` / ``endpoint_update`` / ``endpoint_delete`` /
``endpoint_secret_rotate``. The URL is checked (``addresses``) on every change.

Delivery, in three steps that never hold a transaction across an HTTP call (rule 7):

1. ``events_dispatch`` claims undispatched events (``SKIP LOCKED``) and writes one
   ``Delivery`` per listening endpoint (UNIQUE per event and endpoint), in one transaction
   that also marks the events dispatched; one ``deliveries_dispatch`` task is queued after
   commit.
2. ``deliveries_dispatch`` claims many due deliveries in one short transaction (``SKIP
   LOCKED``, setting ``claimed_until``), commits, then POSTs each endpoint's share in event
   id order on one keep-alive connection, recording each ``Attempt`` and outcome in its own
   short transaction right after its POST. A claim takes only endpoints none of whose
   deliveries is claimed already (the claims are serialised by a transaction-level
   advisory lock), so one endpoint is posted to by one worker at a time, in order, while
   other endpoints go in parallel: a claim takes whole shares of the endpoints with the
   oldest due events, so under a backlog the dispatchers of several workers each take a
   few endpoints. A share is posted within half its claim's time (and the task's run),
   else given back, so no claim expires under a live worker. A failure stops that
   endpoint's run: the rest of its
   share waits one base backoff, so a dead receiver costs one timeout per round, not one
   per event. It loops until nothing is due (or its time is up: then it queues itself).
3. A failure schedules the next try with exponential backoff (base * 2^n, capped) until
   ``HOOKS_RETRY_FOR`` after the event; then the delivery is ``failed``. The task queues a
   wake-up for the earliest retry; beat's ``deliveries_due`` is the safety net for a
   wake-up lost with its worker.

Exactly once, in effect: a delivery is claimed by one worker at a time (an expired claim
is a dead worker's), its outcome is recorded once per attempt, and every delivery of one
event carries the same event id (body ``id`` and the ``SocialPay-Event-Id`` header), so a
receiver drops the duplicate a worker killed between POST and record can cause.
``delivery_attempt`` is one attempt of one delivery (manual redelivery).
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import time
from datetime import UTC, datetime, timedelta

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Min
from django.db.models.functions import Greatest
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
from payments.hooks.transport import EndpointConnection, PostResult
from payments.processors.signing import compute_signature
from payments.wallets.events import EVENT_TYPES

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "SocialPay-Signature"
EVENT_ID_HEADER = "SocialPay-Event-Id"
DISPATCH_BATCH = 200
# A claim lasts HOOKS_CLAIM_SECONDS (longer than a request's timeout: a live attempt is
# never doubled; a killed worker's deliveries are posted again once it has passed).
# One claim: at most this many deliveries, at most PER_ENDPOINT of them for one endpoint
# (a run of one endpoint's share stops at half the claim's time, well inside it).
DELIVERY_BATCH = 200
DELIVERY_BATCH_PER_ENDPOINT = 100
# Outcomes of a run are recorded this many at a time (one commit, not one per POST).
RECORD_EVERY = 25
# A dispatch task gives the worker back after this long and queues itself again. Its last
# POST may take HOOKS_TIMEOUT_SECONDS more: both well inside CELERY_TASK_SOFT_TIME_LIMIT
# (60 s), which would stop the run between a POST and its record.
DISPATCH_RUN_SECONDS = 30
# A constant key for pg_advisory_xact_lock: claims are taken one transaction at a time.
_CLAIM_LOCK_KEY = 0x686F6F6B73  # "hooks"
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
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            Event.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
            if rows:
                transaction.on_commit(deliveries_wake)
        made += len(rows)


def deliveries_wake(countdown: float = 0) -> None:
    """Queue a ``deliveries_dispatch`` run (after ``countdown`` seconds). At most one
    delayed wake-up per target second is queued, whoever asks, and it runs at the end of
    that second: the latest moment any of the askers needed. (Run at the first asker's
    moment, it could come before a later asker's retry was due, find nothing, and its own
    next wake-up for that second would be refused as a duplicate: the retry then waited for
    beat.) A failure to publish loses nothing: beat's ``deliveries_due`` wakes the
    dispatcher later."""
    from payments.hooks.tasks import deliveries_dispatch_task

    if countdown > 0:
        target = math.ceil(time.time() + countdown)
        if not cache.add(f"hooks:dispatch-wake:{target}", 1, timeout=int(countdown) + 60):
            return
        countdown = max(target - time.time(), 0.001)
    try:
        deliveries_dispatch_task.apply_async(countdown=countdown or None)
    except Exception:  # the broker is down
        log.warning("hooks.wake_failed", exc_info=True)


def deliveries_due(*, now: datetime | None = None) -> int:
    """Wake the dispatcher when pending deliveries are due and unclaimed (a lost wake-up).
    Returns how many are due."""
    now = now or timezone.now()
    due = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .exclude(claimed_until__gt=now)
        .count()
    )
    if due:
        deliveries_wake()
    return due


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
    if not rows.update(claimed_until=now + timedelta(seconds=settings.HOOKS_CLAIM_SECONDS)):
        return None
    return Delivery.objects.select_related("event", "endpoint").get(public_id=public_id)


def delivery_attempt(*, public_id: str, manual: bool = False) -> Attempt | None:
    """POST the delivery once and record the outcome. Returns the ``Attempt``, or None when
    the delivery is not due, already done or being posted by another worker.

    A failed scheduled attempt sets ``next_attempt_at`` (the dispatcher retries it). Locks
    nothing across the HTTP call.
    """
    delivery = _claim(public_id, manual=manual, now=timezone.now())
    if delivery is None:
        return None
    with EndpointConnection(delivery.endpoint.url, timeout=settings.HOOKS_TIMEOUT_SECONDS) as conn:
        attempt, _ok = _post_and_record(delivery, conn, manual=manual)
    return attempt


def _post(delivery: Delivery, conn: EndpointConnection) -> tuple[PostResult, datetime]:
    """POST one claimed delivery on ``conn``; returns the result and when it started."""
    now = timezone.now()
    event, endpoint = delivery.event, delivery.endpoint
    body = event_body(event)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "SocialPay-Webhooks/1",
        SIGNATURE_HEADER: signature_header(body, endpoint.secrets_signing(now), timestamp),
        EVENT_ID_HEADER: event.public_id,
    }
    result = conn.post(body, headers)
    log.info(
        "hooks.attempt",
        delivery=delivery.public_id,
        event_id=event.public_id,
        status_code=result.status_code,
        error=result.error,
        ok=_ok(result),
    )
    return result, now


def _ok(result: PostResult) -> bool:
    return result.status_code is not None and 200 <= result.status_code < 300


def _post_and_record(
    delivery: Delivery, conn: EndpointConnection, *, manual: bool
) -> tuple[Attempt, bool]:
    """POST one claimed delivery, then record it (one short transaction)."""
    result, started_at = _post(delivery, conn)
    (attempt,) = _record([(delivery, result, started_at)], manual=manual)
    return attempt, _ok(result)


def _record(
    outcomes: list[tuple[Delivery, PostResult, datetime]], *, manual: bool = False
) -> list[Attempt]:
    """Record the attempts of claimed deliveries and their outcomes, and release their
    claims, in one short transaction: a delivered one is done; a failed one waits its
    backoff, or is ``failed`` past ``HOOKS_RETRY_FOR``. A manual retry of a failed or
    delivered delivery leaves its status as it was unless it succeeds now."""
    if not outcomes:
        return []
    done_at = timezone.now()
    with transaction.atomic():
        attempts = Attempt.objects.bulk_create(
            Attempt(
                delivery=delivery,
                started_at=started_at,
                duration_ms=result.duration_ms,
                status_code=result.status_code,
                error=result.error,
                response_excerpt=result.excerpt,
                manual=manual,
            )
            for delivery, result, started_at in outcomes
        )
        delivered = [d.pk for d, result, _ in outcomes if _ok(result)]
        if delivered:
            # One statement for a run of successes (the common case of a burst).
            Delivery.objects.filter(pk__in=delivered).update(
                attempts=F("attempts") + 1,
                claimed_until=None,
                status=Delivery.Status.DELIVERED,
                delivered_at=done_at,
            )
        for delivery, result, _ in outcomes:
            if _ok(result):
                continue
            update: dict = {"attempts": F("attempts") + 1, "claimed_until": None}
            if delivery.status == Delivery.Status.PENDING:
                next_at = done_at + timedelta(seconds=backoff_seconds(delivery.attempts + 1))
                if next_at - delivery.event.created_at > settings.HOOKS_RETRY_FOR:
                    update["status"] = Delivery.Status.FAILED
                else:
                    update["next_attempt_at"] = next_at
            Delivery.objects.filter(pk=delivery.pk).update(**update)
    return attempts


# --- many attempts: the dispatcher -------------------------------------------------------------
_CLAIM_SQL = """
    WITH busy AS (
        SELECT DISTINCT endpoint_id FROM hooks_delivery
        WHERE status = 'pending' AND claimed_until > %(now)s
    ), due AS (
        SELECT d.id, d.event_id,
               row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.event_id) AS n,
               min(d.event_id) OVER (PARTITION BY d.endpoint_id) AS oldest
        FROM hooks_delivery d
        WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s
          AND d.endpoint_id NOT IN (SELECT endpoint_id FROM busy)
    ), chosen AS (
        SELECT id FROM due WHERE n <= %(per_endpoint)s
        ORDER BY oldest, event_id LIMIT %(limit)s
    ), locked AS (
        SELECT id FROM hooks_delivery
        WHERE id IN (SELECT id FROM chosen)
          AND (claimed_until IS NULL OR claimed_until <= %(now)s)
        FOR UPDATE SKIP LOCKED
    )
    UPDATE hooks_delivery SET claimed_until = %(until)s
    WHERE id IN (SELECT id FROM locked)
    RETURNING id
"""


def deliveries_claim(
    *,
    now: datetime,
    limit: int = DELIVERY_BATCH,
    per_endpoint: int = DELIVERY_BATCH_PER_ENDPOINT,
) -> list[Delivery]:
    """Claim due deliveries of endpoints nobody is posting to, and return them grouped by
    endpoint in event id order (with their events and endpoints).

    Whole shares first: the endpoint with the oldest due event gives up to
    ``per_endpoint`` deliveries, then the next one, until ``limit``. Under a backlog a
    claim so takes a few endpoints, and the dispatchers of other workers take the others
    at the same time (a claim of the oldest events of every endpoint would leave them
    nothing: one worker would post to all endpoints in turn while the rest stood idle).

    Locks: ``pg_advisory_xact_lock`` on the claim key (claims are serialised, so two
    workers never take shares of one endpoint), then the chosen delivery rows (``SKIP
    LOCKED``: a row an attempt is being recorded on is left for the next claim). The
    transaction commits before any POST.
    """
    until = now + timedelta(seconds=settings.HOOKS_CLAIM_SECONDS)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CLAIM_LOCK_KEY])
        cur.execute(
            _CLAIM_SQL,
            {"now": now, "until": until, "limit": limit, "per_endpoint": per_endpoint},
        )
        ids = [row[0] for row in cur.fetchall()]
    if not ids:
        return []
    return list(
        Delivery.objects.filter(pk__in=ids)
        .select_related("event", "endpoint")
        .order_by("endpoint_id", "event_id")
    )


def _release(deliveries: list[Delivery], *, not_before: datetime | None) -> None:
    """Give claimed, unattempted deliveries back, due no sooner than ``not_before``."""
    if not deliveries:
        return
    update: dict = {"claimed_until": None}
    if not_before is not None:
        update["next_attempt_at"] = Greatest(F("next_attempt_at"), not_before)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(**update)


def _endpoint_run(deliveries: list[Delivery], *, stop_at: float) -> int:
    """POST one endpoint's claimed share in event id order on one connection, recording
    the outcomes every ``RECORD_EVERY`` posts (one transaction each: a worker killed in
    between re-posts at most that many, under the same event ids, once its claim expires).
    Stops at the first failure (the rest waits one base backoff, behind the failed one) or
    at ``stop_at`` (``time.monotonic()``; the rest is due at once). The caller's
    ``stop_at`` is half the claim's time after it was taken, or the end of the task's run
    if sooner: the shares of one claim are posted one after the other, and a share posted
    after its claim expired could be claimed and posted by another worker at once.
    Returns how many were posted."""
    posted = 0
    outcomes: list[tuple[Delivery, PostResult, datetime]] = []
    url = deliveries[0].endpoint.url
    with EndpointConnection(url, timeout=settings.HOOKS_TIMEOUT_SECONDS) as conn:
        for n, delivery in enumerate(deliveries):
            if time.monotonic() > stop_at:
                _record(outcomes)
                _release(deliveries[n:], not_before=None)
                return posted
            result, started_at = _post(delivery, conn)
            outcomes.append((delivery, result, started_at))
            posted += 1
            if not _ok(result):
                _record(outcomes)
                wait = timedelta(seconds=backoff_seconds(1))
                _release(deliveries[n + 1 :], not_before=timezone.now() + wait)
                return posted
            if len(outcomes) >= RECORD_EVERY:
                _record(outcomes)
                outcomes = []
    _record(outcomes)
    return posted


def deliveries_dispatch(*, run_seconds: float = DISPATCH_RUN_SECONDS) -> tuple[int, bool]:
    """Claim and POST due deliveries until none is due or ``run_seconds`` have passed.
    Returns (how many were posted, whether it stopped with work left)."""
    started = time.monotonic()
    posted = 0
    while True:
        claimed_at = time.monotonic()
        batch = deliveries_claim(now=timezone.now())
        if not batch:
            return posted, False
        stop_at = min(claimed_at + settings.HOOKS_CLAIM_SECONDS / 2, started + run_seconds)
        for _endpoint_id, share in itertools.groupby(batch, key=lambda d: d.endpoint_id):
            posted += _endpoint_run(list(share), stop_at=stop_at)
        if time.monotonic() - started > run_seconds:
            return posted, True


def deliveries_next_wait(*, now: datetime | None = None) -> float | None:
    """Seconds until the next pending delivery falls due, or None when none waits. Those
    due already are a live worker's (it claims until nothing is due) or beat's."""
    now = now or timezone.now()
    earliest = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__gt=now
    ).aggregate(at=Min("next_attempt_at"))["at"]
    if earliest is None:
        return None
    return (earliest - now).total_seconds()


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
