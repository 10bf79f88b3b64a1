"""The double-entry ledger: accounts, journal entries, postings, holds.

What the tables hold
--------------------
``Account``
    One balance in one currency with a stable ``key`` (``wallet:user:42:USD``,
    ``platform:fees:USD``; builders in ``ledger.chart``), a ``kind`` (asset, liability,
    revenue, expense, equity) and a ``no_overdraft`` flag (user wallets). Identity columns
    never change once written; only the two cached figures below are updated.
``Entry``
    One business event (a tip, a transfer, a payout...): a ``code`` saying why money
    moved, a unique ``idempotency_key``, a ``reference`` to the business object, and two or
    more postings. ``reverses`` points at the entry a reversal undoes (at most once).
``Posting``
    A leg of an entry: account, direction (``D``/``C``), a positive integer amount of minor
    units and the account's currency.
``Hold`` / ``HoldLeg``
    A two-phase (pending) entry: its legs reserve money on the accounts they would debit,
    and the hold is later *posted* (a new ``Entry`` with the same legs) or *voided*, exactly
    once.
``BalanceDelta``
    Not part of the record: a derived, folded-away cache of balance changes that were not
    applied to the account row yet (see "Hot accounts" in ``ledger.services``).
``AuditEvent``
    Who did what to the ledger by hand (a staff reversal from the admin).
``VerifyCheckpoint`` / ``VerifyCheckpointSum``
    What a clean ``ledger_verify`` run established (the highest posting id it covered, the
    totals per currency and the sum per account up to it), so that the next run can be
    incremental (``ledger.checkpoints``). Not part of the record.

Partitioning (migration ``0004``)
---------------------------------
``ledger_posting`` is partitioned by RANGE of ``id`` (one partition per million ids,
``ledger_posting_p000000``, ``…p000001``…): ids come from one sequence, so a partition is a
stretch of time that is never written again once the sequence has passed it, and can be
verified once and detached for archiving. There is no DEFAULT partition; partitions are kept
three ahead of the sequence (``ledger.partitions``, every minute from beat).
``ledger_balancedelta`` is partitioned by HASH of ``account_id`` into eight tables; its
database primary key is ``(id, account_id)`` while Django's state keeps ``id`` (still unique:
one sequence). Indexes, CHECKs, foreign keys and row triggers are cloned by PostgreSQL onto
every partition; the statement-level TRUNCATE trigger is not, so the ensure step installs it
on each posting partition. Every rule below therefore holds on a partition addressed
directly by name.

Balances
--------
``Account.balance`` is the *folded* balance in the account's normal direction
(debit-normal: asset, expense; credit-normal: liability, revenue, equity). The true posted
balance is ``balance + SUM(BalanceDelta.amount)`` for the account, which always equals the
signed sum of its postings. ``pending_out`` is what open holds reserve on a no-overdraft
account. Available = posted - pending_out.

Invariants, each enforced twice: in Python (``ledger.services``, for a clear error) and in
PostgreSQL (migrations ``0002_database_rules`` and ``0004``, so nothing outside the ORM can
break them):

1. Every entry (and every hold) has two or more postings and sums to zero per currency —
   deferred constraint triggers checked at commit.
2. Entries, postings, hold legs and audit events are append-only: UPDATE, DELETE and
   TRUNCATE are rejected by triggers. Accounts and holds cannot be deleted; an account's
   identity columns cannot change; a hold moves only from pending to posted or voided.
3. A no-overdraft account's folded available balance ``balance - pending_out`` is never
   negative (CHECK). Unfolded deltas of such an account are credits only, so the true
   available balance is at least the folded one.
4. ``Entry.idempotency_key`` and ``Hold.idempotency_key`` are UNIQUE.
5. A posting's currency is its account's currency (a composite foreign key on
   ``(account_id, currency)``).

The triggers are written by hand (migration ``0002``), not declared with django-pgtrigger:
every function pgtrigger installs starts by consulting the session setting
``pgtrigger.ignore``, which any database role may set, so ``SET pgtrigger.ignore = ...``
would switch the append-only rule off for that session. These triggers can only be
bypassed by the table's owner or a superuser (``ALTER TABLE … DISABLE TRIGGER``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Now


class AccountKind(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"
    EQUITY = "equity", "Equity"


#: Kinds whose balance grows with debits; the others grow with credits.
DEBIT_NORMAL_KINDS = frozenset({AccountKind.ASSET.value, AccountKind.EXPENSE.value})


class Direction(models.TextChoices):
    DEBIT = "D", "Debit"
    CREDIT = "C", "Credit"


class HoldStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"
    VOIDED = "voided", "Voided"


_CODE_RE = r"^[a-z][a-z0-9_.:-]{0,63}$"
_CURRENCY_RE = r"^[A-Z]{3}$"


class Account(models.Model):
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    currency = models.CharField(max_length=3)
    no_overdraft = models.BooleanField(default=False)
    # The user who owns a wallet; the ledger does not import the accounts app, so this is a
    # plain id (None for platform accounts).
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    balance = models.BigIntegerField(default=0)
    pending_out = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(no_overdraft=False) | Q(balance__gte=models.F("pending_out")),
                name="ledger_account_no_overdraft",
                violation_error_code="insufficient_funds",
            ),
            models.CheckConstraint(
                condition=Q(pending_out__gte=0), name="ledger_account_pending_out_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AccountKind.values), name="ledger_account_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=_CURRENCY_RE), name="ledger_account_currency_iso"
            ),
            # Target of the composite foreign keys (account_id, currency) of postings/legs.
            models.UniqueConstraint(fields=["id", "currency"], name="ledger_account_id_currency"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def debit_normal(self) -> bool:
        return self.kind in DEBIT_NORMAL_KINDS


class Entry(models.Model):
    code = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # sha256 of the canonical content, to tell a replay from a reused key.
    fingerprint = models.CharField(max_length=64)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    created_at = models.DateTimeField(db_default=Now(), db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "entries"
        permissions = [("reverse_entry", "Can reverse journal entries (books a reversal)")]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=_CODE_RE), name="ledger_entry_code"),
            models.CheckConstraint(
                condition=~Q(idempotency_key=""), name="ledger_entry_idempotency_key_not_empty"
            ),
        ]
        indexes = [
            models.Index(fields=["reference"], name="ledger_entry_reference"),
            # The incremental verification looks up, for each new entry naming a processor
            # payment, the other entries naming it (a payment credited twice).
            models.Index(
                KeyTextTransform("payment", "metadata"),
                name="ledger_entry_payment",
                condition=Q(metadata__has_key="payment"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.code}"


class Posting(models.Model):
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="postings")
    # The database constraint is the composite (account_id, currency) foreign key added in
    # migration 0002, which also pins the currency to the account's.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="postings", db_constraint=False
    )
    direction = models.CharField(max_length=1, choices=Direction.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_posting_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="ledger_posting_direction"
            ),
        ]
        indexes = [models.Index(fields=["account", "id"], name="ledger_posting_account_id")]

    def __str__(self) -> str:
        return f"{self.direction} {self.account_id} {self.amount} {self.currency}"


class Hold(models.Model):
    code = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=200, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    posted_entry = models.OneToOneField(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="posted_hold"
    )
    created_at = models.DateTimeField(db_default=Now(), db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=_CODE_RE), name="ledger_hold_code"),
            models.CheckConstraint(
                condition=(
                    Q(status=HoldStatus.PENDING, resolved_at__isnull=True, posted_entry=None)
                    | Q(status=HoldStatus.POSTED, resolved_at__isnull=False) & ~Q(posted_entry=None)
                    | Q(status=HoldStatus.VOIDED, resolved_at__isnull=False, posted_entry=None)
                ),
                name="ledger_hold_status_consistent",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="ledger_hold_pending",
                condition=Q(status=HoldStatus.PENDING),
            )
        ]

    def __str__(self) -> str:
        return f"hold #{self.pk} {self.code} ({self.status})"


class HoldLeg(models.Model):
    hold = models.ForeignKey(Hold, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="hold_legs", db_constraint=False
    )
    direction = models.CharField(max_length=1, choices=Direction.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_holdleg_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="ledger_holdleg_direction"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.account_id} {self.amount} {self.currency}"


class BalanceDelta(models.Model):
    """A balance change not yet folded into ``Account.balance`` (signed, normal direction).

    Rows are inserted by posting services and deleted only by a fold, which adds exactly
    the rows it deleted to the account row in the same transaction."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_delta_not_zero")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"


class AuditEvent(models.Model):
    actor_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} on {self.entry_id}"


class VerifyCheckpoint(models.Model):
    """What a clean ``ledger_verify`` run established, for the next incremental run.

    Every posting with ``id <= posting_upto`` (and every entry and hold up to its id) had
    committed when the run took its snapshot and was checked; ``totals`` are their debits
    and signed sum per currency, and ``VerifyCheckpointSum`` their signed sum per account.
    Postings are append-only, so these figures stay true; an incremental run adds only
    what came after. Written by ``ledger.checkpoints``; the newest few are kept."""

    full = models.BooleanField()
    posting_upto = models.BigIntegerField()
    entry_upto = models.BigIntegerField()
    hold_upto = models.BigIntegerField()
    postings = models.BigIntegerField()
    # {"USD": {"debits": 1400, "net": 0}}: over postings up to posting_upto only.
    totals = models.JSONField(default=dict)
    seconds = models.FloatField()
    created_at = models.DateTimeField(db_default=Now(), db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.pk} up to posting {self.posting_upto}"


class VerifyCheckpointSum(models.Model):
    """The signed sum (debits positive) of one account's postings up to the checkpoint."""

    checkpoint = models.ForeignKey(VerifyCheckpoint, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    net = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "account"], name="ledger_verifycheckpointsum_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.net:+d} at #{self.checkpoint_id}"
