"""Outgoing webhooks.

An ``Endpoint`` is a URL a person registered, with the event kinds it wants and a signing
secret (a rotated secret keeps signing beside the new one until ``previous_secret_expires_at``,
so a receiver can switch without losing events). An ``Event`` is written by
``payments.wallets.events.event_emit`` in the money movement's transaction (the outbox),
only when one of the person's active endpoints listens to its kind. The dispatcher turns
each new event into one ``Delivery`` per listening endpoint (UNIQUE per event and endpoint:
dispatching twice delivers once) and marks the event dispatched. A delivery is attempted
until the receiver answers 2xx or ``HOOKS_RETRY_FOR`` has passed since the event; every try
is an ``Attempt`` row (the delivery log).

Invariants: a delivery's ``status`` is ``pending`` (waiting for ``next_attempt_at``),
``delivered`` or ``failed`` (gave up); ``attempts`` counts its ``Attempt`` rows. The same
event always has the same ``public_id``, so a receiver de-duplicates on it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

URL_MAX_LENGTH = 2000


class Endpoint(models.Model):
    public_id = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=URL_MAX_LENGTH)
    description = models.CharField(max_length=200, blank=True)
    # A JSON array of kinds (``payments.wallets.events.EVENT_TYPES``); the emitter's insert
    # tests membership with jsonb's ``?``.
    event_types = models.JSONField()
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=80)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hooks_endpoint"
        indexes = [models.Index(fields=["user", "is_active"], name="hooks_endpoint_user_active")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(event_types=[]), name="hooks_endpoint_has_event_types"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"

    def secrets_signing(self, now=None) -> list[str]:
        """The secrets every delivery is signed with now: the current one, and the previous
        one while its overlap lasts."""
        now = now or timezone.now()
        out = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            out.append(self.previous_secret)
        return out


class Event(models.Model):
    public_id = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_events"
    )
    kind = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hooks_event"
        indexes = [
            models.Index(
                fields=["id"],
                name="hooks_event_undispatched",
                condition=models.Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    public_id = models.CharField(max_length=40, unique=True)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker that claims the delivery holds it until then (a killed worker's claim expires).
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hooks_delivery"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="hooks_delivery_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "delivered", "failed"]),
                name="hooks_delivery_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="hooks_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="hooks_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    manual = models.BooleanField(default=False)

    class Meta:
        db_table = "hooks_attempt"
        indexes = [models.Index(fields=["delivery", "-id"], name="hooks_attempt_delivery")]

    def __str__(self) -> str:
        return f"attempt {self.pk} of {self.delivery_id}: {self.status_code or self.error}"
