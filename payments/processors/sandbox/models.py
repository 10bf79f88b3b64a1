"""The sandbox processor's own database: what Stripe would store on its side.

These rows are the *processor's* records, not ours: our code reaches them only through the
adapter, exactly as it would reach Stripe over HTTP. Ids are derived from the caller's
idempotency key (or from the parent object), so a run is deterministic and replayable:
the same calls produce the same ids, events and fees.

Invariants: an idempotency key is stored once with the fingerprint of its parameters and
the response it produced; amounts are positive minor units, currencies lowercase (as
Stripe writes them on the wire); balance transactions are append-only.
"""

from __future__ import annotations

from django.db import models


class SandboxRecord(models.Model):
    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.pk if not hasattr(self, "id") else self.id)


class IdempotencyKey(SandboxRecord):
    key = models.CharField(max_length=255, primary_key=True)
    endpoint = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created = models.DateTimeField(auto_now_add=True)


class PaymentIntent(SandboxRecord):
    id = models.CharField(max_length=64, primary_key=True)
    charge_id = models.CharField(max_length=64, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=64)
    status = models.CharField(max_length=32)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict)
    last_payment_error = models.JSONField(null=True)
    amount_refunded = models.BigIntegerField(default=0)
    return_url = models.TextField(blank=True)
    created = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="sb_pi_amount_pos"),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0)
                & models.Q(amount_refunded__lte=models.F("amount")),
                name="sb_pi_refunded_within_amount",
            ),
        ]


class Refund(SandboxRecord):
    id = models.CharField(max_length=64, primary_key=True)
    payment_intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)
    reason = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField()


class Dispute(SandboxRecord):
    id = models.CharField(max_length=64, primary_key=True)
    payment_intent = models.OneToOneField(PaymentIntent, on_delete=models.PROTECT)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)
    reason = models.CharField(max_length=32)
    evidence = models.TextField(blank=True)
    created = models.DateTimeField()


class Account(SandboxRecord):
    id = models.CharField(max_length=64, primary_key=True)
    email = models.CharField(max_length=254)
    country = models.CharField(max_length=2)
    metadata = models.JSONField(default=dict)
    created = models.DateTimeField()


class BankAccount(SandboxRecord):
    """An external account: a bank account or (``kind="card"``) a debit card."""

    id = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="banks")
    kind = models.CharField(max_length=16, default="bank_account")  # bank_account | card
    brand = models.CharField(max_length=32, blank=True)  # cards only
    last4 = models.CharField(max_length=4)
    # What payouts to this account do, decided by the test number or token (see engine).
    outcome = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    country = models.CharField(max_length=2)
    created = models.DateTimeField()


class Payout(SandboxRecord):
    id = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT)
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict)
    arrival_date = models.DateField()
    created = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="sb_po_amount_pos"),
        ]


class BalanceTransaction(SandboxRecord):
    seq = models.BigAutoField(primary_key=True)  # newest-first order for listings
    id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=32)
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    net = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=64)
    reporting_category = models.CharField(max_length=32)
    description = models.TextField(blank=True)
    created = models.DateTimeField()
    available_on = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(net=models.F("amount") - models.F("fee")),
                name="sb_txn_net_is_amount_minus_fee",
            ),
        ]


class Event(SandboxRecord):
    seq = models.BigAutoField(primary_key=True)
    id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    account = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, db_index=True)
    body = models.TextField()  # the exact bytes signed and delivered
    created = models.DateTimeField()
    delivery_attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True)
    last_delivery_status = models.PositiveSmallIntegerField(null=True)
    last_delivery_error = models.TextField(blank=True)
