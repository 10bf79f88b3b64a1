"""Reconciliation: our processor clearing account against the processor's balance
transactions, per processor object.

Both sides are reduced to a signed *net* amount per ``(source, currency)`` — what the
object changed in our balance at the processor:

- the processor: ``BalanceTransaction.net`` (amount minus the processor's fee) summed by
  ``source`` (a charge, a payout and its ``payout_failure``, a dispute and its
  reinstatement …);
- our ledger: postings on ``platform:processor_clearing:{processor}:{CUR}`` (a debit is +,
  money arriving at the processor; a credit is -), attributed to the processor object the
  entry's metadata names (``processor_object``, ``processor_payout_id``, ``charge_id``, or
  ``payment`` — a payment id, which is translated to its charge id by asking the processor,
  since balance transactions name charges). A reversal counts for the object of the entry
  it reverses. Fees we booked (D processor_fees · C clearing, same metadata) are included,
  so a fee the processor took and we never booked (a dispute fee) shows as a difference.

Every source that is on one side only, or whose sums differ, is one difference.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import structlog
from django.db import transaction
from django.utils import timezone

from ledger.models import Direction
from ledger.selectors import processor_clearing_postings
from payments.payouts.models import ReconciliationDifference, ReconciliationReport
from payments.processors.base import get_processor

log = structlog.get_logger(__name__)

MAX_PAGES = 1000  # 100 000 balance transactions per run, a limit on everything
_SOURCE_KEYS = ("processor_object", "processor_payout_id", "charge_id", "payment")
MAX_PAYMENT_LOOKUPS = 10_000
MAX_REPORTED_DIFFERENCES = 200  # named in the nightly record and mail; the rest in admin
Key = tuple[str, str]  # (source, currency)


def _processor_side(processor_name: str, start: datetime, end: datetime) -> dict[Key, int]:
    processor = get_processor(processor_name)
    sums: dict[Key, int] = defaultdict(int)
    cursor = None
    for _ in range(MAX_PAGES):
        page = processor.list_balance_transactions(
            created_gte=start, created_lt=end, starting_after=cursor, limit=100
        )
        for txn in page.items:
            sums[(txn.source or txn.id, txn.currency.upper())] += txn.net
        cursor = page.next_cursor
        if cursor is None:
            break
    return dict(sums)


def _entry_source(metadata: dict) -> str | None:
    for key in _SOURCE_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _ledger_side(processor_name: str, start: datetime, end: datetime) -> dict[Key, int]:
    sums: dict[Key, int] = defaultdict(int)
    for posting in processor_clearing_postings(processor=processor_name, start=start, end=end):
        source = _entry_source(posting.metadata)
        if source is None and posting.reversed_metadata is not None:
            source = _entry_source(posting.reversed_metadata)
        source = source or f"entry:{posting.entry_id}"
        sign = 1 if posting.direction == Direction.DEBIT else -1
        sums[(source, posting.currency)] += sign * posting.amount
    return dict(sums)


def _payment_ids_to_charges(
    processor_name: str, theirs: dict[Key, int], ours: dict[Key, int]
) -> dict[Key, int]:
    """Re-key our sums named by a payment id (``pi_…``) to the payment's charge id, which
    is what the processor's balance transactions name. Asks the processor once per
    unmatched payment id, at most ``MAX_PAYMENT_LOOKUPS`` times."""
    from payments.processors.base import ProcessorError

    processor = get_processor(processor_name)
    rekeyed: dict[Key, int] = defaultdict(int)
    lookups = 0
    for (source, currency), amount in ours.items():
        key = (source, currency)
        if key not in theirs and source.startswith("pi_") and lookups < MAX_PAYMENT_LOOKUPS:
            lookups += 1
            try:
                charge_id = processor.retrieve_payment(source).charge_id
            except ProcessorError:
                charge_id = None
            if charge_id:
                key = (charge_id, currency)
        rekeyed[key] += amount
    return dict(rekeyed)


def reconciliation_run(
    *, processor: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> ReconciliationReport:
    """Compare one window (default: the previous UTC day) and store the report."""
    processor = processor or get_processor().name
    if end is None:
        end = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    if start is None:
        start = end - timedelta(days=1)
    theirs = _processor_side(processor, start, end)
    ours = _payment_ids_to_charges(processor, theirs, _ledger_side(processor, start, end))
    differences = []
    for key in sorted(set(theirs) | set(ours)):
        source, currency = key
        their_amount, our_amount = theirs.get(key), ours.get(key)
        if their_amount is None:
            kind = ReconciliationDifference.Kind.MISSING_AT_PROCESSOR
        elif our_amount is None:
            kind = ReconciliationDifference.Kind.MISSING_IN_LEDGER
        elif their_amount != our_amount:
            kind = ReconciliationDifference.Kind.AMOUNT_MISMATCH
        else:
            continue
        differences.append(
            ReconciliationDifference(
                kind=kind,
                source=source[:255],
                currency=currency,
                processor_amount=their_amount,
                ledger_amount=our_amount,
            )
        )
    with transaction.atomic(durable=True):
        report = ReconciliationReport.objects.create(
            processor=processor,
            window_start=start,
            window_end=end,
            processor_rows=len(theirs),
            ledger_rows=len(ours),
            difference_count=len(differences),
        )
        for difference in differences:
            difference.report = report
        ReconciliationDifference.objects.bulk_create(differences)
    log.info("reconciliation.done", report_id=report.pk, differences=len(differences))
    return report


def reconciliation_run_and_record(
    *, start: datetime | None = None, end: datetime | None = None
) -> ReconciliationReport:
    """The nightly run: compare the previous day (or the window given), then record the
    outcome for the metrics and mail ADMINS about differences (core.nightly)."""
    from core.nightly import nightly_check_record

    report = reconciliation_run(start=start, end=end)
    findings = [
        f"{d.kind} {d.source} {d.currency}: processor {d.processor_amount}, "
        f"ledger {d.ledger_amount}"
        for d in report.differences.order_by("id")[:MAX_REPORTED_DIFFERENCES]
    ]
    nightly_check_record(
        name="reconciliation",
        ok=report.difference_count == 0,
        findings=findings,
        total=report.difference_count,
        summary={
            "report_id": report.pk,
            "processor": report.processor,
            "window_start": report.window_start.isoformat(),
            "processor_rows": report.processor_rows,
            "ledger_rows": report.ledger_rows,
        },
    )
    return report
