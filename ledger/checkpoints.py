"""Checkpointed verification: ``ledger_verify`` that records what it established, so that
the next run re-reads only what came after.

A **full** run recomputes every balance from every posting (``ledger.selectors.
ledger_verify``'s checks) and, when it finds nothing, writes a ``VerifyCheckpoint``: the
highest posting, entry and hold ids it covered, the debits and signed sum per currency of
the postings up to that id, and the signed sum per account (``VerifyCheckpointSum``).

An **incremental** run starts from the newest checkpoint and reads only the postings,
entries and holds after it, plus every account row (the identity *cached balance +
unfolded deltas = checkpoint sum + postings after it* is checked for every account) and
every pending hold. Its cost grows with what happened since the checkpoint and with the
number of accounts, not with the ledger's history; when clean it writes the next
checkpoint. The nightly task runs incrementally and makes a full run when the newest full
checkpoint is older than ``LEDGER_VERIFY_FULL_EVERY_DAYS`` (or there is none).

What an incremental run cannot see: a posting, entry or hold leg *below* the checkpoint
that was rewritten or deleted. The append-only triggers (migrations 0002 and 0004, on every
partition) make that impossible for anyone but the tables' owner or a superuser disabling
them; the periodic full run recomputes from every posting and catches a rewrite that left
the cached balances alone.

Why a checkpoint's figures stay true: ids come from sequences, but transactions commit in
any order, so "every posting with id <= N" is only final once every transaction that
could hold such an id has ended. A run reads the sequences' last values first, then waits
(as ``CREATE INDEX CONCURRENTLY`` does) until every transaction running at that moment has
finished, and only then takes its snapshot: the checkpoint stops at the values read first.
If one of them is still open after ``HORIZON_WAIT_SECONDS``, the run checks everything all
the same but records no checkpoint.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger.models import VerifyCheckpoint
from ledger.selectors import NEW_SUMS_SQL, VerifyReport, VerifyScope, ledger_checks

#: Checkpoints kept (with their per-account sums); older ones are deleted.
CHECKPOINTS_KEPT = 3
#: How long a run waits for transactions older than its horizon before giving up.
HORIZON_WAIT_SECONDS = 60.0

_NEW_SUMS_TABLE = "ledger_verify_new_sums"


def ledger_verify_run(*, hold_max_age: timedelta, incremental: bool) -> VerifyReport:
    """Verify the ledger (fully, or from the newest checkpoint) and, when nothing is
    found, record a new checkpoint. Without any checkpoint an incremental run is full.

    Locks: none on ledger rows; waits up to ``HORIZON_WAIT_SECONDS`` for transactions
    running when it starts to end. When one outlasts that, every check still runs (they
    read whatever the snapshot holds) but no checkpoint is recorded: postings below the
    horizon could still commit.
    """
    started = time.monotonic()
    since = VerifyCheckpoint.objects.order_by("-id").first() if incremental else None
    horizon, settled = _horizon()
    report = VerifyReport()
    scope = VerifyScope(posting_upto=horizon[0])
    if since is not None:
        scope = VerifyScope(
            posting_from=since.posting_upto,
            entry_from=since.entry_upto,
            hold_from=since.hold_upto,
            checkpoint_id=since.pk,
            totals=since.totals,
            posting_upto=max(horizon[0], since.posting_upto),
        )
        report.scope = f"incremental from checkpoint #{since.pk}"
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cur:
        if own_transaction:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # One scan of the new postings serves the checks and the next checkpoint.
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{_NEW_SUMS_TABLE}")
        cur.execute(
            f"CREATE TEMPORARY TABLE {_NEW_SUMS_TABLE} ON COMMIT DROP AS {NEW_SUMS_SQL}",
            {"posting_from": scope.posting_from, "upto": scope.posting_upto},
        )
        ledger_checks(cur, report, hold_max_age=hold_max_age, scope=scope, new_sums=_NEW_SUMS_TABLE)
        if not settled:
            report.scope += " (no checkpoint recorded: older transactions were still open)"
        elif report.ok:
            _checkpoint_write(
                cur, scope, horizon, full=since is None, seconds=time.monotonic() - started
            )
    return report


def _horizon() -> tuple[tuple[int, int, int], bool]:
    """The posting, entry and hold sequences' last values, and whether every transaction
    that could still commit a row at or below them has ended (waited for up to
    ``HORIZON_WAIT_SECONDS``). Inside an outer transaction (a test) that transaction's
    snapshot rules, and nothing is waited for."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(pg_sequence_last_value('ledger_posting_id_seq'), 0),"
            " coalesce(pg_sequence_last_value('ledger_entry_id_seq'), 0),"
            " coalesce(pg_sequence_last_value('ledger_hold_id_seq'), 0)"
        )
        values = cur.fetchone()
        if connection.in_atomic_block:
            return values, True
        # Every transaction of this database holds its virtual transaction id lock until
        # it ends; one that drew an id below the values above had started by now.
        cur.execute(
            "SELECT coalesce(array_agg(l.virtualxid), '{}') FROM pg_locks l"
            " JOIN pg_stat_activity s ON s.pid = l.pid"
            " WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_backend_pid()"
            " AND s.datname = current_database()"
        )
        running = cur.fetchone()[0]
        deadline = time.monotonic() + HORIZON_WAIT_SECONDS
        while running:
            cur.execute(
                "SELECT coalesce(array_agg(virtualxid), '{}') FROM pg_locks"
                " WHERE locktype = 'virtualxid' AND granted AND virtualxid = ANY(%s)",
                [running],
            )
            running = cur.fetchone()[0]
            if not running:
                break
            if time.monotonic() > deadline:
                return values, False
            time.sleep(0.05)
    return values, True


def _checkpoint_write(
    cur, scope: VerifyScope, horizon: tuple[int, int, int], *, full: bool, seconds: float
) -> None:
    cur.execute(
        f"SELECT currency, sum(debits_upto), sum(net_upto), sum(n_upto)"  # noqa: S608
        f" FROM {_NEW_SUMS_TABLE} GROUP BY currency"
    )
    totals = {c: dict(v) for c, v in scope.totals.items()}
    postings = 0
    for currency, debits, net, n in cur.fetchall():
        entry = totals.setdefault(currency, {"debits": 0, "net": 0})
        entry["debits"] = int(entry["debits"]) + int(debits)
        entry["net"] = int(entry["net"]) + int(net)
        postings += int(n)
    if scope.checkpoint_id is not None:
        postings += VerifyCheckpoint.objects.get(pk=scope.checkpoint_id).postings
    checkpoint = VerifyCheckpoint.objects.create(
        full=full,
        posting_upto=scope.posting_upto,
        entry_upto=max(horizon[1], scope.entry_from),
        hold_upto=max(horizon[2], scope.hold_from),
        postings=postings,
        totals=totals,
        seconds=round(seconds, 3),
    )
    cur.execute(
        f"""
        INSERT INTO ledger_verifycheckpointsum (checkpoint_id, account_id, net)
        SELECT %(new)s, account_id, sum(net) FROM (
            SELECT account_id, net_upto AS net FROM {_NEW_SUMS_TABLE}
            UNION ALL
            SELECT account_id, net FROM ledger_verifycheckpointsum
            WHERE checkpoint_id = %(old)s
        ) parts GROUP BY account_id
        """,  # noqa: S608 - a table name of this module
        {"new": checkpoint.pk, "old": scope.checkpoint_id},
    )
    stale = list(
        VerifyCheckpoint.objects.order_by("-id").values_list("pk", flat=True)[CHECKPOINTS_KEPT:]
    )
    if stale:
        cur.execute("DELETE FROM ledger_verifycheckpointsum WHERE checkpoint_id = ANY(%s)", [stale])
        # The newest full run stays on record (without its sums): it says when the next
        # full run is due.
        last_full = (
            VerifyCheckpoint.objects.filter(full=True).order_by("-id").values_list("pk", flat=True)
        ).first()
        doomed = VerifyCheckpoint.objects.filter(pk__in=stale)
        if last_full is not None:
            doomed = doomed.exclude(pk=last_full)
        doomed.delete()


def nightly_incremental() -> bool:
    """True when the nightly run should be incremental: a full checkpoint younger than
    ``LEDGER_VERIFY_FULL_EVERY_DAYS`` exists."""
    cutoff = timezone.now() - timedelta(days=settings.LEDGER_VERIFY_FULL_EVERY_DAYS)
    return VerifyCheckpoint.objects.filter(full=True, created_at__gte=cutoff).exists()
