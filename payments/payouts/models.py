"""Payouts: money leaves a wallet for the owner's bank account, through the processor.

- ``PayoutAccount``: the person's account at the processor (a Stripe Connect account).
- ``PayoutDestination``: a bank account or a debit card (``kind``) attached to it; a debit
  card can take instant payouts (``instant_available``). At most one is active per person;
  adding one starts a payout hold (``payouts_allowed_at``): no payout before it passes.
  It records the holder's name, the account's country and currency (payouts to it leave
  from the wallet in that currency) and only the last four characters of the number; the
  full number goes to the processor and is never stored here (``bank_formats`` checks it).
- ``Payout``: one request. Its life is a small state machine (``TRANSITIONS``); every change
  is written as an append-only ``PayoutEvent`` in the same transaction, and a change the
  table does not allow is refused.
- ``PayoutEvent``: the audit trail; the database refuses UPDATE and DELETE on it.

Invariants: amounts are positive integers of minor units; the fee is its own figure (never
netted into ``amount``); one payout owns exactly one ledger hold (``hold`` is unique), and
the processor is called with the key ``payout:{id}`` only, so a payout can exist at most
once at the processor. ``ledger_status`` is the status whose ledger effects are booked;
when it differs from ``status`` the sweeper books what is missing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


# Tables keep the names they had when these models lived in one ``payments`` app: the
# move to this app was state-only (no table renamed, no row copied).
class PayoutAccount(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_account"
    )
    processor = models.CharField(max_length=32)
    account_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_payoutaccount"
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "account_id"], name="payout_account_unique_remote"
            )
        ]

    def __str__(self) -> str:
        return f"{self.processor}:{self.account_id}"


class PayoutSchedule(models.TextChoices):
    MANUAL = "manual", _("manual")
    WEEKLY = "weekly", _("weekly")


class PayoutDestination(models.Model):
    class Kind(models.TextChoices):
        BANK_ACCOUNT = "bank_account", _("bank account")
        CARD = "card", _("debit card")

    class Status(models.TextChoices):
        ATTACHING = "attaching", "attaching"  # intent recorded, processor not yet answered
        ACTIVE = "active", "active"
        REPLACED = "replaced", "replaced"
        FAILED = "failed", "failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_destinations"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ATTACHING)
    processor = models.CharField(max_length=32)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.BANK_ACCOUNT)
    # The processor's external account: a bank account (ba_…) or a debit card (card_…).
    bank_account_id = models.CharField(max_length=255, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    card_brand = models.CharField(max_length=32, blank=True)
    # The processor pays this destination instantly (debit cards that support it).
    instant_available = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, default="USD")
    country = models.CharField(max_length=2, default="US")
    account_holder_name = models.CharField(max_length=100, blank=True)
    schedule = models.CharField(
        max_length=10, choices=PayoutSchedule.choices, default=PayoutSchedule.MANUAL
    )
    failure_code = models.CharField(max_length=64, blank=True)
    payouts_allowed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_payoutdestination"
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="active"), name="payout_destination_one_active"
            ),
            models.CheckConstraint(
                condition=~Q(status="active")
                | (~Q(bank_account_id="") & Q(payouts_allowed_at__isnull=False)),
                name="payout_destination_active_complete",
            ),
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$") & Q(currency__regex=r"^[A-Z]{3}$"),
                name="payout_destination_country_currency_codes",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["bank_account", "card"]), name="payout_destination_kind"
            ),
            # Only a card is ever paid instantly (the processor's rule, kept here too).
            models.CheckConstraint(
                condition=Q(kind="card") | Q(instant_available=False),
                name="payout_destination_instant_card_only",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.CARD:
            return f"card {self.card_brand} ••{self.last4} {self.currency} ({self.status})"
        return f"bank {self.country} ••{self.last4} {self.currency} ({self.status})"


class PayoutStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")  # hold placed, not yet sent
    SUBMITTING = "submitting", _("submitting")  # sending to the processor (maybe more than once)
    PENDING = "pending", _("pending")  # the processor has it
    PAID = "paid", _("paid")
    FAILED = "failed", _("failed")  # final: the hold was voided
    REVERSED = "reversed", _("reversed")  # final: paid, then returned by the bank


class PayoutMethod(models.TextChoices):
    STANDARD = "standard", _("standard")
    INSTANT = "instant", _("instant")


#: The only status changes there are. Anything else is refused (and logged).
TRANSITIONS: dict[str, frozenset[str]] = {
    PayoutStatus.REQUESTED: frozenset({PayoutStatus.SUBMITTING, PayoutStatus.FAILED}),
    PayoutStatus.SUBMITTING: frozenset(
        {PayoutStatus.PENDING, PayoutStatus.PAID, PayoutStatus.FAILED}
    ),
    PayoutStatus.PENDING: frozenset({PayoutStatus.PAID, PayoutStatus.FAILED}),
    PayoutStatus.PAID: frozenset({PayoutStatus.REVERSED}),
    PayoutStatus.FAILED: frozenset(),
    PayoutStatus.REVERSED: frozenset(),
}
FINAL_STATUSES = frozenset({PayoutStatus.FAILED, PayoutStatus.REVERSED})
OPEN_STATUSES = frozenset({PayoutStatus.REQUESTED, PayoutStatus.SUBMITTING, PayoutStatus.PENDING})


class Payout(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    destination = models.ForeignKey(
        PayoutDestination, on_delete=models.PROTECT, related_name="payouts"
    )
    hold = models.OneToOneField("ledger.Hold", on_delete=models.PROTECT, related_name="payout")
    amount = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=10, choices=PayoutMethod.choices)
    status = models.CharField(
        max_length=12, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED
    )
    ledger_status = models.CharField(
        max_length=12, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED
    )
    processor = models.CharField(max_length=32)
    processor_payout_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    arrival_date = models.DateField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_payout"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="payout_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(status__in=PayoutStatus.values), name="payout_status_known"
            ),
            models.CheckConstraint(
                condition=Q(method__in=PayoutMethod.values), name="payout_method_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "submitting", "failed"])
                | Q(processor_payout_id__isnull=False),
                name="payout_processor_id_once_sent",
            ),
        ]
        indexes = [
            models.Index(
                fields=["updated_at"],
                name="payout_open",
                condition=Q(status__in=["requested", "submitting", "pending"]),
            ),
            models.Index(fields=["user", "-id"], name="payout_user_newest"),
        ]

    def __str__(self) -> str:
        return f"payout #{self.pk} {self.amount} {self.currency} ({self.status})"

    @property
    def processor_key(self) -> str:
        """The one idempotency key this payout is ever sent to the processor with."""
        return f"payout:{self.pk}"


class PayoutEvent(models.Model):
    """One status change (or a refused one, ``accepted=False``), never edited."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    accepted = models.BooleanField(default=True)
    source = models.CharField(max_length=20)  # api | task | webhook | sweeper | staff
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_payoutevent"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


# Reconciliation reports: our books against the processor's balance transactions.
# One ``ReconciliationReport`` per run and window; each ``ReconciliationDifference`` is one
# thing that does not match (missing on our side, missing on theirs, or another amount),
# keyed by the processor object the money moved for (``source``). Reports are read-only.
class ReconciliationReport(models.Model):
    processor = models.CharField(max_length=32)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    processor_rows = models.PositiveIntegerField(default=0)
    ledger_rows = models.PositiveIntegerField(default=0)
    difference_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_reconciliationreport"
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
        db_table = "payments_reconciliationdifference"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.source}"
