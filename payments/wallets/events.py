"""Events for outgoing webhooks, written in the money movement's own transaction.

``event_emit`` is how the money apps (wallets, creators, payouts, disputes) tell the
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
)

EVENT_ID_PREFIX = "evt_"

# The row goes in only when someone listens: active, subscribed to this kind, this user's.
_INSERT_SQL = """
INSERT INTO hooks_event (public_id, user_id, kind, payload, created_at)
SELECT %s, %s, %s, %s, now()
WHERE EXISTS (
    SELECT 1 FROM hooks_endpoint
    WHERE user_id = %s AND is_active AND event_types ? %s
)
"""


def event_id_new() -> str:
    return EVENT_ID_PREFIX + secrets.token_hex(12)


def event_emit(kind: str, user_id: int | None, payload: dict) -> None:
    """Record event ``kind`` for ``user_id``'s webhook endpoints in the caller's transaction.

    ``payload`` is the event's ``data`` object (JSON-serialisable, money as
    ``Money.as_dict()``). Raises ``ValueError`` for an unknown kind (a programming
    error, never a person's input). Locks nothing.
    """
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event kind {kind!r}")
    if user_id is None:
        return
    with connection.cursor() as cur:
        cur.execute(
            _INSERT_SQL,
            [event_id_new(), user_id, kind, json.dumps(payload), user_id, kind],
        )
        written = cur.rowcount
    if written:
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
