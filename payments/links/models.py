"""Payment links and the payments made through them.

A ``PaymentLink`` asks for money for its owner: a fixed amount, or any amount at or above a
minimum (pay what you want), in one currency, with a note, optionally until a date or for a
number of uses. Its slug is random (``secrets.token_urlsafe``), so a link cannot be guessed
from another one. A ``LinkPayment`` is one payment through a link, in the shape of every
money flow (``payments.links.services``): written, booked and completed in one transaction.

Invariants (database-enforced):
- a fixed link has an amount and no minimum; an open link has a minimum and no amount;
  both are positive; the currency is an ISO code;
- ``uses`` never exceeds ``max_uses`` (a CHECK: a use-limited link cannot be over-used,
  whatever the application does);
- a request key is used once per payer (``(payer, request_key)`` unique): a retried form
  finds its first payment instead of paying again;
- a completed payment points at its ledger entry; ``fee ≤ amount``; the owner never pays
  their own link.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.money import Money

SLUG_MAX_LENGTH = 43  # token_urlsafe(24) is 32 characters; room for longer slugs later
NOTE_MAX_LENGTH = 280
MESSAGE_MAX_LENGTH = 280
MAX_USES_LIMIT = 1_000_000


class PaymentLink(models.Model):
    """A link that asks for money for ``owner``."""

    class Kind(models.TextChoices):
        FIXED = "fixed", "fixed"
        OPEN = "open", "open"  # pay what you want, at least ``min_amount``

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    slug = models.CharField(max_length=SLUG_MAX_LENGTH, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField(null=True, blank=True)
    min_amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    # Counted only for use-limited links (the row is the lock that keeps the limit); an
    # unlimited link is never updated by its payments, so a popular one is no hot row.
    uses = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="fixed", amount__gt=0, min_amount__isnull=True)
                    | Q(kind="open", min_amount__gt=0, amount__isnull=True)
                ),
                name="link_amount_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="link_currency_code"
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(max_uses__gt=0, uses__lte=F("max_uses")),
                name="link_uses_within_limit",
            ),
        ]
        indexes = [models.Index(fields=["owner", "-id"], name="link_owner_newest")]

    def __str__(self) -> str:
        return f"link {self.pk}"

    @property
    def amount_money(self) -> Money | None:
        return None if self.amount is None else Money(self.amount, self.currency)

    @property
    def min_money(self) -> Money | None:
        return None if self.min_amount is None else Money(self.min_amount, self.currency)


class LinkPayment(models.Model):
    """One payment through a link, from the payer's wallet."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        COMPLETED = "completed", "completed"

    link = models.ForeignKey(PaymentLink, on_delete=models.PROTECT, related_name="payments")
    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    payee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    message = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    request_key = models.CharField(max_length=255)
    entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="linkpay_amount_positive"),
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(fee__lte=F("amount")), name="linkpay_fee_in_range"
            ),
            models.CheckConstraint(condition=~Q(payer=F("payee")), name="linkpay_not_self"),
            models.UniqueConstraint(fields=["payer", "request_key"], name="linkpay_request_once"),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(entry__isnull=False),
                name="linkpay_completed_has_entry",
            ),
        ]
        indexes = [models.Index(fields=["link", "-id"], name="linkpay_link_newest")]

    def __str__(self) -> str:
        return f"link payment {self.pk}"

    @property
    def net(self) -> int:
        return self.amount - self.fee

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def net_money(self) -> Money:
        return Money(self.net, self.currency)
