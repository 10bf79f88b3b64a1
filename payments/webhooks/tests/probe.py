"""A webhook handler for tests: registered in the test process by importing this module, and
in the Celery worker the tests start through its environment (``conftest.py`` names it in
``PAYMENTS_WEBHOOK_HANDLER_MODULES``); production settings never see it.

It counts its calls per event id in Redis, which both processes share. Events whose object
carries metadata ``probe`` = ``transient`` fail transiently (once per event) and
``probe`` = ``crash`` always raise, so tests can drive retries and failures.
"""

from __future__ import annotations

from django.core.cache import cache

from payments.processors.base import Event, TransientProcessorError
from payments.webhooks import webhook_handler

PROBED_TYPES = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "charge.refunded",
    "payout.paid",
    "payout.failed",
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
)


def calls_key(event_id: str) -> str:
    return f"webhook-probe:calls:{event_id}"


def calls(event_id: str) -> int:
    return int(cache.get(calls_key(event_id)) or 0)


@webhook_handler(*PROBED_TYPES)
def probe(event: Event) -> None:
    key = calls_key(event.id)
    cache.add(key, 0, timeout=3600)
    count = cache.incr(key)
    behaviour = (event.data.get("metadata") or {}).get("probe")
    if behaviour == "transient" and count == 1:
        raise TransientProcessorError("probe: try again")
    if behaviour == "crash":
        raise RuntimeError("probe: handler bug")
