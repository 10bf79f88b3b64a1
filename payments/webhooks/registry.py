"""Which functions handle which processor event types.

Features register handlers where they live::

    from payments.webhooks import webhook_handler

    @webhook_handler("payment_intent.succeeded", "payment_intent.payment_failed")
    def topup_settle_from_event(event: Event) -> None: ...

A handler receives the verified ``payments.processors.Event`` (``event.processor`` tells
which adapter sent it; ``payments.processors.objects`` turns ``event.data`` into values).
It runs OUTSIDE any transaction, so it may call durable money services and the
processor. It must be idempotent: an event can be processed again (a retry, a reprocess
from admin, a duplicate that Stripe sent under a new event id), so lock your own row and
check its state, or use a ledger idempotency key derived from the object id. Raising
``TransientProcessorError`` or ``WebhookRetryLater`` retries with backoff; any other
exception marks the event failed (staff can reprocess it after a fix).

Handlers in a module named ``webhook_handlers`` inside any installed app are imported
before the first event is processed; ``PAYMENTS_WEBHOOK_HANDLER_MODULES`` names more.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from payments.processors.base import Event

Handler = Callable[[Event], None]

_handlers: dict[str, list[Handler]] = {}
_discovered = False
_lock = threading.Lock()


class WebhookRetryLater(Exception):
    """Raise from a handler to retry the event later (e.g. the object it refers to has not
    been recorded yet because the API response is still on its way)."""


def webhook_handler(*event_types: str) -> Callable[[Handler], Handler]:
    if not event_types:
        raise ValueError("name at least one event type")

    def register(fn: Handler) -> Handler:
        for event_type in event_types:
            handlers = _handlers.setdefault(event_type, [])
            if fn not in handlers:
                handlers.append(fn)
        return fn

    return register


def unregister(fn: Handler) -> None:
    """Remove ``fn`` from every event type (for tests)."""
    for handlers in _handlers.values():
        while fn in handlers:
            handlers.remove(fn)


def discover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        autodiscover_modules("webhook_handlers")
        for module in settings.PAYMENTS_WEBHOOK_HANDLER_MODULES:
            importlib.import_module(module)
        _discovered = True


def handlers_for(event_type: str) -> list[Handler]:
    discover()
    return list(_handlers.get(event_type, ()))
