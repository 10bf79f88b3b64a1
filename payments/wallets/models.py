"""Payments models: wallets' own money movements — top-ups, P2P transfers, money requests,
send limits, identity verification requests and receipts.

A wallet is not a table here: it is the ledger account ``wallet:user:{id}:{CUR}``, created
on first use. These rows describe *why* money moved; the ledger says *that* it moved.

``TopUp``
    Money added by card. Recorded (and committed) before the processor is called; the
    processor's idempotency key is ``topup:{id}``. ``pending`` until the processor's
    ``payment_intent.succeeded`` webhook credits the wallet (ledger keys
    ``topup:{id}:credit`` and ``topup:{id}:fee``), so duplicate or out-of-order webhooks
    can never credit twice.
``Transfer``
    One P2P payment. The row (with the limit reservation) and the ledger entry with key
    ``transfer:{id}`` commit in one transaction, so every row is ``completed`` (a CHECK);
    a refusal leaves no row. ``client_key`` (the API's
    Idempotency-Key or a form's key) is unique per sender, so a retry after a crash finds
    the same row instead of paying twice.
``MoneyRequest``
    "Please pay me": open → paid (through one Transfer whose client key is
    ``request:{id}``) | declined | cancelled.
``SendLimit``
    One row per user, locked ``FOR UPDATE`` by every transfer of that user: the weekly
    amount sent (in the limits currency) and the transfers of the current minute. Holding
    the lock while checking and reserving is what makes the weekly limit hold when many
    transfers run at once.
``VerificationRequest``
    A person asks to be verified; staff approve or reject it in Django admin (audited).
``Receipt``
    One per (money event, recipient): the notification and e-mail are sent at most once.
``ReceiptOutbox``
    Receipts waiting to be delivered, written in the same transaction as the money event
    (a transactional outbox): a payment that commits always gets its receipts, even when
    the broker is unreachable at that moment, and a rolled-back one never does.

Invariants (database-enforced): positive amounts; upper-case currency; a transfer or a
request between two different people; one client key per sender/requester/user.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NOTE_MAX_LENGTH = 140


def _currency_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name=name)


class Visibility(models.TextChoices):
    PRIVATE = "private", _("Only the two of us")
    FOLLOWERS = "followers", _("Followers")
    PUBLIC = "public", _("Everyone")


# Tables keep the names they had when these models lived in one ``payments`` app: the
# move to this app was state-only (no table renamed, no row copied).
class TopUp(models.Model):
    class Status(models.TextChoices):
        CREATED = "created"  # recorded; the processor has not answered yet
        REQUIRES_ACTION = "requires_action"  # the cardholder must authenticate, then confirm
        PENDING = "pending"  # the processor accepted it; waiting for its webhook
        SUCCEEDED = "succeeded"  # credited
        FAILED = "failed"  # declined: nothing credited

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=100)  # a processor token, never a card number
    processor = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status, default=Status.CREATED)
    payment_id = models.CharField(max_length=255, blank=True)
    fee = models.BigIntegerField(null=True, blank=True)
    decline_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    client_key = models.CharField(max_length=255)
    credit_entry_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments_topup"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_amount_positive"),
            _currency_check("topup_currency_iso"),
            models.UniqueConstraint(fields=["user", "client_key"], name="topup_client_key_once"),
            # One processor payment credits at most one top-up.
            models.UniqueConstraint(
                fields=["processor", "payment_id"],
                condition=~Q(payment_id=""),
                name="topup_payment_once",
            ),
        ]
        indexes = [models.Index(fields=["user", "status"], name="topup_user_status")]

    def __str__(self) -> str:
        return f"topup #{self.pk} {self.amount} {self.currency} ({self.status})"


class MoneyRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        PAYING = "paying"  # a payer's transfer is on its way; cannot be cancelled now
        PAID = "paid"
        DECLINED = "declined"
        CANCELLED = "cancelled"

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.OPEN)
    transfer = models.OneToOneField(
        "Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    client_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_moneyrequest"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="request_amount_positive"),
            _currency_check("request_currency_iso"),
            models.CheckConstraint(
                condition=~Q(requester=F("payer")), name="request_between_two_people"
            ),
            models.UniqueConstraint(
                fields=["requester", "client_key"], name="request_client_key_once"
            ),
        ]
        indexes = [
            models.Index(fields=["payer", "status", "-id"], name="request_inbox"),
            models.Index(fields=["requester", "-id"], name="request_outbox"),
        ]

    def __str__(self) -> str:
        return f"request #{self.pk} ({self.status})"


class Transfer(models.Model):
    class Status(models.TextChoices):
        # The row, its limit reservation and its ledger entry commit together, so a
        # committed transfer is always completed.
        COMPLETED = "completed"

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # What the transfer counted against the sender's limits (limits currency, minor units).
    limit_amount = models.BigIntegerField()
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility, default=Visibility.PRIVATE)
    status = models.CharField(max_length=10, choices=Status, default=Status.COMPLETED)
    entry_id = models.BigIntegerField(null=True, blank=True)
    client_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payments_transfer"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            _currency_check("transfer_currency_iso"),
            models.CheckConstraint(
                condition=~Q(sender=F("recipient")), name="transfer_between_two_people"
            ),
            models.UniqueConstraint(
                fields=["sender", "client_key"], name="transfer_client_key_once"
            ),
            models.CheckConstraint(condition=Q(status="completed"), name="transfer_completed"),
        ]
        indexes = [
            models.Index(fields=["sender", "-id"], name="transfer_sender_newest"),
            models.Index(fields=["recipient", "-id"], name="transfer_recipient_newest"),
            models.Index(
                fields=["-id"],
                name="transfer_feed_shared",
                condition=Q(status="completed") & ~Q(visibility="private"),
            ),
        ]

    def __str__(self) -> str:
        return f"transfer #{self.pk} ({self.status})"


class SendLimit(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    week_start = models.DateField()  # Monday (UTC) of the week ``week_used`` counts
    week_used = models.BigIntegerField(default=0)
    minute_start = models.DateTimeField()
    minute_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "payments_sendlimit"
        constraints = [
            models.CheckConstraint(condition=Q(week_used__gte=0), name="sendlimit_used_positive")
        ]

    def __str__(self) -> str:
        return f"send limit of {self.user_id}"


class VerificationRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification_requests"
    )
    legal_name = models.CharField(max_length=120)
    # What a reviewer checks the name against (asked on the verification page; older
    # requests and the API's may lack them).
    date_of_birth = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    country = models.CharField(max_length=2)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_verificationrequest"
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="verification_one_pending_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"verification of {self.user_id} ({self.status})"


class Receipt(models.Model):
    """A notification + e-mail that was sent; ``key`` is ``{event}:{object id}:{recipient}``.

    ``email_spec`` holds the receipt (a ``ReceiptSpec`` dict) from the moment the row is
    written until its e-mail has gone out, then it is cleared: a worker that dies between
    the commit and the send leaves the spec behind, and the sweep sends it later."""

    key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    email_spec = models.JSONField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_receipt"
        indexes = [
            # The sweep's e-mails still to send, oldest first (a handful at any time).
            models.Index(
                fields=["created_at"],
                name="receipt_email_pending",
                condition=models.Q(email_spec__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.key


class ReceiptOutbox(models.Model):
    """Receipts of one money event waiting for the worker (``payments.wallets.receipts``).
    ``payload`` is a list of ``ReceiptSpec`` dicts. Rows are deleted once delivered."""

    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_receiptoutbox"

    def __str__(self) -> str:
        return f"receipts #{self.pk}"
