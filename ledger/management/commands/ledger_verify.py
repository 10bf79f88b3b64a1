"""``manage.py ledger_verify``: recompute the ledger and exit 1 on any finding.

``--full`` (the default) recomputes every balance from every posting; ``--incremental``
starts from the newest checkpoint (``ledger.checkpoints``). A clean run of either kind
records a new checkpoint.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from ledger.checkpoints import ledger_verify_run


class Command(BaseCommand):
    help = (
        "Recompute every balance from postings, check that every entry and hold sums to zero "
        "per currency and that the whole ledger does, that no processor payment is credited "
        "twice, and report stale holds. Exits 1 on any finding. A clean run records a "
        "checkpoint; --incremental checks only what came after the newest one."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hold-max-age-hours",
            type=int,
            default=None,
            help="report holds pending for longer than this (default LEDGER_HOLD_MAX_AGE_HOURS)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--full",
            dest="incremental",
            action="store_false",
            help="recompute from every posting (the default)",
        )
        mode.add_argument(
            "--incremental",
            dest="incremental",
            action="store_true",
            help="check only what came after the newest checkpoint (full when there is none)",
        )
        parser.set_defaults(incremental=False)

    def handle(self, *args, **options):
        hours = options["hold_max_age_hours"]
        if hours is None:
            hours = settings.LEDGER_HOLD_MAX_AGE_HOURS
        started = time.monotonic()
        report = ledger_verify_run(
            hold_max_age=timedelta(hours=hours), incremental=options["incremental"]
        )
        self.stdout.write(f"Scope: {report.scope} ({time.monotonic() - started:.1f}s)")
        self.stdout.write("Checked:")
        for name, n in report.checked.items():
            self.stdout.write(f"  {name}: {n}")
        self.stdout.write("Debit totals per currency (minor units):")
        for currency, total in report.totals.items():
            self.stdout.write(f"  {currency}: {total}")
        self.stdout.write(
            "Checks: cached balances = sum of postings; reserved = open holds; no overdraft; "
            "entries and holds zero-sum with 2+ legs; global zero-sum; no processor payment "
            f"credited twice; holds older than {hours}h"
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("OK: every invariant holds."))
            return
        for finding in report.findings:
            self.stderr.write(f"FINDING: {finding}")
        self.stderr.write(self.style.ERROR(f"{len(report.findings)} finding(s)."))
        sys.exit(1)
