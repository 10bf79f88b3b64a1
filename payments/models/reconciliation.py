"""Reconciliation reports: our books against the processor's balance transactions.

One ``ReconciliationReport`` per run and window; each ``ReconciliationDifference`` is one
thing that does not match (missing on our side, missing on theirs, or another amount),
keyed by the processor object the money moved for (``source``). Reports are read-only.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ReconciliationReport(models.Model):
    processor = models.CharField(max_length=32)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    processor_rows = models.PositiveIntegerField(default=0)
    ledger_rows = models.PositiveIntegerField(default=0)
    difference_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.window_start:%Y-%m-%d} ({self.difference_count} differences)"


class ReconciliationDifference(models.Model):
    class Kind(models.TextChoices):
        MISSING_IN_LEDGER = "missing_in_ledger", "missing in our ledger"
        MISSING_AT_PROCESSOR = "missing_at_processor", "missing at the processor"
        AMOUNT_MISMATCH = "amount_mismatch", "amount mismatch"

    report = models.ForeignKey(
        ReconciliationReport, on_delete=models.CASCADE, related_name="differences"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    source = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    processor_amount = models.BigIntegerField(null=True, blank=True)
    ledger_amount = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.source}"
