"""Disputes (chargebacks) on card payments, as the processor reports them by webhook.

A ``Dispute`` is keyed to the processor's dispute id and names the disputed payment. Money
moves only when the processor says funds were withdrawn (the wallet owner pays what their
wallet holds, the rest is a platform loss) or reinstated (that entry is reversed). Each
movement is one ledger entry whose idempotency key derives from the dispute id, so a
replayed webhook books nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


# Tables keep the names they had when these models lived in one ``payments`` app: the
# move to this app was state-only (no table renamed, no row copied).
class Dispute(models.Model):
    class Funds(models.TextChoices):
        NONE = "none", "none"
        WITHDRAWN = "withdrawn", "withdrawn"
        REINSTATED = "reinstated", "reinstated"

    processor = models.CharField(max_length=32)
    processor_dispute_id = models.CharField(max_length=255)
    payment_id = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)  # the processor's word (needs_response, won …)
    reason = models.CharField(max_length=64, blank=True)
    funds = models.CharField(max_length=10, choices=Funds.choices, default=Funds.NONE)
    # What the withdrawal took from the wallet and what the platform lost.
    wallet_debited = models.BigIntegerField(default=0)
    shortfall = models.BigIntegerField(default=0)
    withdrawn_entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reinstated_entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    needs_review = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_dispute"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "processor_dispute_id"], name="dispute_unique_remote"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(wallet_debited__gte=0, shortfall__gte=0),
                name="dispute_split_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.processor_dispute_id} ({self.status})"
