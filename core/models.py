"""Shared records that belong to no single business area.

``IdempotencyRecord`` remembers the first outcome of a money request for a client-chosen
key, scoped by user and endpoint, so that a retry replays it instead of moving money again.
A record is written only once the outcome is known (``core.idempotency``: while a request
runs, its key is held by an advisory lock, not by a row).

Invariants: one record per (user, endpoint, key) — a UNIQUE constraint, the last word when
two requests with one key would both store an outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    # For browser forms: where the first submission led, so a double click lands there too.
    response_location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # when the outcome was stored

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "endpoint", "key"], name="core_idempotency_unique_key"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="core_idempotency_created")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key} ({self.response_status})"


class NightlyCheck(models.Model):
    """The outcome of one run of a nightly consistency check (``ledger_verify``,
    ``reconciliation``): kept so that metrics and staff see the last result whatever
    process ran it, and so that a check that stopped running is noticed (its age grows).
    Append-only by convention; a few rows a day."""

    name = models.CharField(max_length=40)
    ok = models.BooleanField()
    findings = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["name", "-finished_at"], name="core_nightly_last")]

    def __str__(self) -> str:
        return f"{self.name} {'ok' if self.ok else f'{self.findings} findings'}"
