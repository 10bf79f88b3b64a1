"""Resend sandbox webhooks, as Stripe's Dashboard "Resend" does: named events, or every
event whose delivery never succeeded."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from payments.processors.sandbox import engine
from payments.processors.sandbox import models as m

MAX_EVENTS = 10_000


class Command(BaseCommand):
    help = "Queue sandbox webhook events for delivery again."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="*", help="sandbox event ids (evt_...)")
        parser.add_argument(
            "--undelivered", action="store_true", help="every event not yet delivered"
        )

    def handle(self, *args, event_ids, undelivered, **options):
        if not event_ids and not undelivered:
            raise CommandError("name event ids or pass --undelivered")
        events = m.Event.objects.none()
        if event_ids:
            events = m.Event.objects.filter(id__in=event_ids)
            missing = set(event_ids) - set(events.values_list("id", flat=True))
            if missing:
                raise CommandError(f"no such sandbox events: {', '.join(sorted(missing))}")
        if undelivered:
            events = events | m.Event.objects.filter(delivered_at__isnull=True)
        ids = list(events.order_by("seq").values_list("id", flat=True)[:MAX_EVENTS])
        with transaction.atomic():
            for event_id in ids:
                engine.schedule_delivery(event_id)
        self.stdout.write(f"{len(ids)} event(s) queued for delivery")
