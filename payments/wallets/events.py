"""Events for outgoing webhooks, written in the money movement's own transaction.

``event_emit`` is how the money apps (wallets, fx, creators, payouts, disputes) tell the
outside world that something happened, without importing the app that delivers it
(``payments.hooks`` sits above them). It inserts one row into the hooks app's event table
in the caller's transaction — a transactional outbox: a committed payment always gets its
event and a rolled-back one never does, whatever the broker is doing.

The insert is a single statement that writes nothing unless the person has an active
endpoint subscribed to that kind, so a payment of someone without webhooks pays one index
probe and no write. After commit, the dispatcher is woken (debounced per process, like the
receipts' outbox); beat also dispatches every few seconds, so a lost wake-up only delays.

Payloads carry what the event needs and no more: ids, money, the other party's public
handle, the public note the payer wrote. Never an e-mail, a bank detail or an address.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import connection, transaction

log = structlog.get_logger(__name__)

#: Every kind an endpoint can subscribe to, in the order the settings page lists them.
EVENT_TYPES = (
    "payment.received",
    "tip.received",
    "post.unlocked",
    "order.paid",
    "order.shipped",
    "order.refunded",
    "membership.started",
    "membership.renewed",
    "membership.cancelled",
    "payout.paid",
    "payout.failed",
    "dispute.opened",
    "request.paid",
    "fx.converted",
    "fx.sent",
    "fx.received",
)

EVENT_ID_PREFIX = "evt_"


@dataclass(frozen=True)
class EventSpec:
    kind: str
    user_id: int
    payload: dict


def event_spec(kind: str, user_id: int | None, payload: dict) -> EventSpec | None:
    """An event to write (None when there is nobody to tell). Raises ``ValueError`` for an
    unknown kind (a programming error, never a person's input)."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event kind {kind!r}")
    return None if user_id is None else EventSpec(kind, user_id, payload)


def event_id_new() -> str:
    return EVENT_ID_PREFIX + secrets.token_hex(12)


def events_cte(events: list[EventSpec]) -> tuple[str, list]:
    """``events AS (INSERT …)``: a data-modifying CTE that writes each event whose person
    has an active endpoint subscribed to its kind, returning one row per event written.
    The receipts' outbox insert prepends it to its own statement, so a transfer writes its
    receipts and its events in one round trip."""
    rows = ", ".join(["(%s, %s::bigint, %s, %s::jsonb)"] * len(events))
    params: list = []
    for event in events:
        params += [event_id_new(), event.user_id, event.kind, json.dumps(event.payload)]
    # Only placeholders are joined into the text; every value is a parameter.
    sql = (
        "hook_events AS (INSERT INTO hooks_event (public_id, user_id, kind, payload, created_at)"  # noqa: S608
        f" SELECT v.id, v.uid, v.kind, v.payload, now() FROM (VALUES {rows})"
        " AS v (id, uid, kind, payload) WHERE EXISTS (SELECT 1 FROM hooks_endpoint e"
        " WHERE e.user_id = v.uid AND e.is_active AND e.event_types ? v.kind)"
        " RETURNING 1)"
    )
    return sql, params


def event_emit(kind: str, user_id: int | None, payload: dict) -> None:
    """Record event ``kind`` for ``user_id``'s webhook endpoints in the caller's transaction.

    ``payload`` is the event's ``data`` object (JSON-serialisable, money as
    ``Money.as_dict()``). Raises ``ValueError`` for an unknown kind. Locks nothing.
    """
    spec = event_spec(kind, user_id, payload)
    if spec is None:
        return
    sql, params = events_cte([spec])
    with connection.cursor() as cur:
        cur.execute(f"WITH {sql} SELECT count(*) FROM hook_events", params)  # noqa: S608
        written = cur.fetchone()[0]
    events_written(written)


def events_written(count: int) -> None:
    """Wake the dispatcher after commit when ``count`` events were written."""
    if count:
        transaction.on_commit(_wake_dispatcher)


_last_wake = float("-inf")


def _wake_dispatcher() -> None:
    """Ask a worker to dispatch new events, at most once per ``HOOKS_KICK_SECONDS`` in this
    process. A failure to publish loses nothing: beat dispatches the rows later."""
    global _last_wake
    now = time.monotonic()
    if now - _last_wake < settings.HOOKS_KICK_SECONDS:
        return
    _last_wake = now
    from celery import current_app

    try:
        current_app.send_task("hooks.events_dispatch")
    except Exception:  # the broker is down: beat dispatches when it is back
        log.warning("hooks.wake_failed", exc_info=True)
