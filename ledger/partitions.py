"""Upkeep of the partitioned ledger tables (migration ``0004``).

``ledger_posting`` is partitioned by range of id, one partition per million ids, with no
DEFAULT partition: an insert whose id has no partition fails. The database function
``ledger_posting_partitions_ensure`` keeps three whole partitions of unused ids ready above
the sequence; ``posting_partitions_ensure`` runs it from Celery beat every minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import OperationalError, connection, transaction

#: Kept in step with ``POSTING_PARTITION_WIDTH`` of migration 0004 (a test checks it).
POSTING_PARTITION_WIDTH = 1_000_000
#: How long the ensure step waits for a lock before giving up until its next run.
ENSURE_LOCK_TIMEOUT = "2s"


def posting_partitions_ensure(*, ahead: int = 3) -> int:
    """Create the posting partitions missing for ``ahead`` partitions of headroom above
    the sequence's last value. Returns how many were created (0 when none was needed, or
    when a lock could not be had within ``ENSURE_LOCK_TIMEOUT``: the next run tries again).

    Locks: SHARE UPDATE EXCLUSIVE on ``ledger_posting`` (inserts go on) and, while the
    foreign key is cloned, SHARE ROW EXCLUSIVE on ``ledger_account``, each at most
    ``ENSURE_LOCK_TIMEOUT``; an advisory lock makes concurrent runs take turns.
    """
    if not 1 <= ahead <= 100:
        raise ValueError("ahead must be between 1 and 100")
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"SET LOCAL lock_timeout = '{ENSURE_LOCK_TIMEOUT}'")
            cur.execute("SELECT ledger_posting_partitions_ensure(%s)", [ahead])
            return cur.fetchone()[0]
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) == "55P03":  # lock_not_available
            return 0
        raise


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    parent: str
    bounds: str
    rows_estimate: int
    total_bytes: int


def partitions_describe() -> list[Partition]:
    """Every partition of the posting and balance-delta tables, with the planner's row
    estimate (as of the last ANALYZE) and its size on disk, indexes included."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c.relname, p.relname, pg_get_expr(c.relpartbound, c.oid),
                   greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname IN ('ledger_posting', 'ledger_balancedelta')
            ORDER BY p.relname, c.relname
            """
        )
        return [Partition(*row) for row in cur.fetchall()]
