"""Payments models: the webhook intake.

A ``WebhookDelivery`` is every request that reached ``POST /webhooks/{processor}``: its raw
body and a few headers, stored before its event is acted on, and its outcome (accepted,
duplicate, rejected with a code). Rejected deliveries keep only the first kilobyte of
their body (and its length), are kept for forensics and never processed.

A ``WebhookEvent`` is a processor event whose signature verified: unique per
(processor, event id), so a second delivery of the same event is only a duplicate
delivery. An unverified request can never occupy an event id. Its status moves
received → processing → processed | ignored | failed; ``attempts`` and ``last_error``
record every try, and any event may be reprocessed (handlers are idempotent).
"""

from __future__ import annotations

from django.db import models


# Tables keep the names they had when these models lived in one ``payments`` app: the
# move to this app was state-only (no table renamed, no row copied).
class WebhookEvent(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received"  # waiting for (another) processing attempt
        PROCESSING = "processing"  # claimed by a worker until processing_started_at + lease
        PROCESSED = "processed"
        IGNORED = "ignored"  # no handler for its type
        FAILED = "failed"  # a handler raised a non-transient error, or retries ran out

    processor = models.CharField(max_length=16)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=255)
    account = models.CharField(max_length=255, blank=True)
    livemode = models.BooleanField(default=False)
    created_at_processor = models.DateTimeField()
    payload = models.JSONField()
    raw_body = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments_webhookevent"
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "event_id"], name="webhook_event_unique_per_processor"
            ),
            models.CheckConstraint(
                condition=models.Q(processor__in=["sandbox", "stripe"]),
                name="webhook_event_known_processor",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "updated_at"],
                name="webhook_event_unfinished",
                condition=models.Q(status__in=["received", "processing"]),
            ),
        ]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.processor}:{self.event_id} {self.type} ({self.status})"


class WebhookDelivery(models.Model):
    class Outcome(models.TextChoices):
        RECEIVED = "received"  # stored, not yet verified (or the request died meanwhile)
        ACCEPTED = "accepted"
        DUPLICATE = "duplicate"
        REJECTED = "rejected"

    processor = models.CharField(max_length=16)
    raw_body = models.BinaryField()
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=Outcome, default=Outcome.RECEIVED)
    error_code = models.CharField(max_length=64, blank=True)
    event = models.ForeignKey(
        WebhookEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )

    class Meta:
        db_table = "payments_webhookdelivery"
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.processor} delivery {self.pk} ({self.outcome})"
