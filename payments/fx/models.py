"""Money across borders: stored FX rates and quotes.

- ``FxRateSnapshot``: one table of mid-market rates as a source published it (``source``,
  ``base``, ``as_of``), rates kept as decimal *strings* so that nothing ever passes through
  a float. One row per (source, as_of). Quotes are priced only from a stored snapshot, never
  from a feed fetched inside a request, and never from one older than the source's maximum
  age (``settings.FX_RATE_MAX_AGE_SECONDS``).
- ``FxQuote``: a priced offer to one person, valid for ``settings.FX_QUOTE_TTL_SECONDS``:
  pay ``source_amount`` of ``source_currency``, ``target_amount`` of ``target_currency``
  arrives and ``fee_amount`` (target currency) goes to ``platform:fees``. The amounts are
  fixed when the quote is made (rounding rule in ``payments.fx.quotes``); executing it books
  exactly these numbers. A quote executes at most once: its ledger entry's idempotency key
  is ``fx:quote:<id>`` (unique in the ledger), and ``entry`` records it. Once executed the
  row also says what it became (``kind``: conversion or transfer, and the recipient).

Invariants the database enforces: positive amounts, a non-negative fee, two different
currencies, an expiry after creation, and "executed" meaning entry, kind and time together.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


# Tables keep the names they had when these models lived in one ``payments`` app: the
# move to this app was state-only (no table renamed, no row copied).
class FxRateSnapshot(models.Model):
    source = models.CharField(max_length=20)
    base = models.CharField(max_length=3)
    as_of = models.DateTimeField()
    # {"USD": "1.0800", ...}: units of each currency per one unit of ``base``.
    rates = models.JSONField()
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_fxratesnapshot"
        constraints = [
            models.UniqueConstraint(fields=["source", "as_of"], name="fx_snapshot_source_as_of"),
            models.CheckConstraint(condition=Q(base__regex=r"^[A-Z]{3}$"), name="fx_snapshot_base"),
        ]
        indexes = [models.Index(fields=["source", "-as_of"], name="fx_snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.source} {self.base} @ {self.as_of:%Y-%m-%d %H:%M}"


class FxQuote(models.Model):
    class FixedSide(models.TextChoices):
        SOURCE = "source", "source amount fixed"
        TARGET = "target", "target amount fixed"

    class Kind(models.TextChoices):
        CONVERSION = "conversion", "conversion between own wallets"
        TRANSFER = "transfer", "cross-border transfer"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fx_quotes"
    )
    source_currency = models.CharField(max_length=3)
    target_currency = models.CharField(max_length=3)
    source_amount = models.BigIntegerField()
    target_amount = models.BigIntegerField()
    fee_amount = models.BigIntegerField()  # target currency, booked to platform:fees
    fee_bps = models.PositiveIntegerField()
    fixed_side = models.CharField(max_length=6, choices=FixedSide.choices)
    mid_rate = models.DecimalField(max_digits=30, decimal_places=10)
    snapshot = models.ForeignKey(FxRateSnapshot, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Set together when the quote is executed.
    kind = models.CharField(max_length=10, choices=Kind.choices, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    entry = models.OneToOneField(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fx_received",
    )
    note = models.CharField(max_length=280, blank=True)

    class Meta:
        db_table = "payments_fxquote"
        constraints = [
            models.CheckConstraint(
                condition=Q(source_amount__gt=0) & Q(target_amount__gt=0) & Q(fee_amount__gte=0),
                name="fx_quote_amounts",
            ),
            models.CheckConstraint(
                condition=~Q(source_currency=F("target_currency")), name="fx_quote_two_currencies"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="fx_quote_expiry"
            ),
            models.CheckConstraint(
                condition=(
                    Q(entry__isnull=True, executed_at__isnull=True, kind="")
                    | Q(
                        entry__isnull=False,
                        executed_at__isnull=False,
                        kind__in=["conversion", "transfer"],
                    )
                ),
                name="fx_quote_executed_together",
            ),
            models.CheckConstraint(
                condition=Q(kind="transfer", recipient__isnull=False)
                | (~Q(kind="transfer") & Q(recipient__isnull=True)),
                name="fx_quote_transfer_recipient",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="fx_quote_user_newest")]

    def __str__(self) -> str:
        return f"{self.source_amount} {self.source_currency} → {self.target_currency} ({self.pk})"

    @property
    def ledger_key(self) -> str:
        return f"fx:quote:{self.pk}"
