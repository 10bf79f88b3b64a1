"""Native PostgreSQL partitioning of ``ledger_posting`` and ``ledger_balancedelta``.

``ledger_posting`` is partitioned by RANGE of ``id``. Posting ids come from one sequence,
so a partition holds the postings of one stretch of time: once the sequence has moved
past it, it is never written again and can be verified once, then detached and archived
(``ALTER TABLE ledger_posting DETACH PARTITION ledger_posting_p000000 CONCURRENTLY``).
Every partition covers ``POSTING_PARTITION_WIDTH`` ids: partition ``ledger_posting_pNNNNNN``
holds ids ``[N * width, (N + 1) * width)``.

There is no DEFAULT partition: a row that lands there would make creating the partition of
its range impossible without moving it, and moving a posting means deleting it, which the
append-only rule forbids. Instead ``ledger_posting_partitions_ensure(ahead)`` keeps
``ahead`` (default 3) whole partitions of unused ids ready above the sequence's last value;
this migration, Celery beat (``ledger.tasks.posting_partitions_ensure``, every minute) and
the fold task call it. At 3 million ids of headroom a ledger booking 5,000 postings a
second has ten minutes of slack before an insert could find no partition.

What the parent does not hand down to a partition, the ensure step installs itself:

- CHECK and NOT NULL constraints, indexes, foreign keys (``(account_id, currency)`` →
  account, ``entry_id`` → entry) and every row-level trigger — the append-only BEFORE
  UPDATE OR DELETE trigger and the deferred zero-sum constraint trigger — are cloned by
  PostgreSQL onto each partition when it is attached (PostgreSQL 13 and later).
- Statement-level triggers are not: without its own ``BEFORE TRUNCATE`` trigger, a
  partition addressed directly (``TRUNCATE ledger_posting_p000000``) could be emptied. The
  ensure step adds it to every partition it creates.

A new partition is created standalone and then ATTACHed: ATTACH PARTITION takes only a
SHARE UPDATE EXCLUSIVE lock on ``ledger_posting`` (inserts and a running verification go
on), where ``CREATE TABLE … PARTITION OF`` would queue every insert behind an ACCESS
EXCLUSIVE lock. Cloning the foreign key briefly takes SHARE ROW EXCLUSIVE on
``ledger_account``; the ensure step sets a short ``lock_timeout`` and simply tries again at
its next run (it runs far ahead).

``ledger_balancedelta`` is partitioned by HASH of ``account_id`` into
``BALANCE_DELTA_PARTITIONS`` tables: a fold deletes the rows of one account (the payer's),
which then touches one small partition, and the churn of inserts and deletes is vacuumed
in eight tables instead of one. Its primary key in the database becomes
``(id, account_id)`` (a partitioned table's unique keys must contain the partition key);
Django's state keeps ``id`` as the primary key, which stays unique because it comes from
one sequence. Nothing has a foreign key pointing at either table.

The conversion copies existing rows: each table is renamed aside, its partitioned successor
created under the original name, the rows copied, then indexes, constraints and triggers
created with their original names and the identity sequence recreated under its original
name at the old sequence's position. Triggers come after the copy so that the copy does
not queue one deferred zero-sum check per posting. Reversing does the opposite (one plain
table again, rows copied back). The copy holds an ACCESS EXCLUSIVE lock on each table, so
ledger writes wait for it: measured at about two minutes for 10 million postings on a busy
2-core machine (docs/scaling.md, "Ledger growth").
"""

from django.db import migrations

#: Ids per posting partition. One million postings is a few hundred MB with indexes: small
#: enough to verify, vacuum and archive in one go, large enough that a busy ledger adds a
#: partition every few minutes at most (the zero-sum check probes the entry index of every
#: partition, so very many small partitions would slow inserts down).
POSTING_PARTITION_WIDTH = 1_000_000
#: Whole partitions of unused ids kept ready above the sequence's last value.
POSTING_PARTITIONS_AHEAD = 3
BALANCE_DELTA_PARTITIONS = 8

POSTING_COLUMNS = "id, direction, amount, currency, account_id, entry_id"
DELTA_COLUMNS = "id, amount, account_id"

POSTING_FUNCTIONS = rf"""
-- Create (standalone, then ATTACH) the posting partition holding ids
-- [p_index * width, (p_index + 1) * width), with its own TRUNCATE trigger. Idempotent.
CREATE FUNCTION ledger_posting_partition_create(p_index bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    width constant bigint := {POSTING_PARTITION_WIDTH};
    name text := format('ledger_posting_p%s', lpad(p_index::text, 6, '0'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN name;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE ledger_posting INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE ledger_posting ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   name, p_index * width, (p_index + 1) * width);
    -- Statement-level triggers are not cloned onto partitions.
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT'
                   ' EXECUTE FUNCTION ledger_reject_truncate()', name || '_no_truncate', name);
    RETURN name;
END $$;

-- Keep p_ahead whole partitions of unused ids above p_top (ids up to p_top may exist).
-- Creates only partitions above the highest attached one, so a partition detached for
-- archiving is never created again. Returns the number of partitions created.
CREATE FUNCTION ledger_posting_partitions_ensure_upto(p_top bigint, p_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    width constant bigint := {POSTING_PARTITION_WIDTH};
    high bigint;
    created integer := 0;
BEGIN
    IF p_ahead < 1 OR p_ahead > 100 THEN
        RAISE EXCEPTION 'ledger: p_ahead must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    -- Only one ensure at a time (beat, the fold task and a migration may overlap).
    PERFORM pg_advisory_xact_lock(hashtext('ledger_posting_partitions_ensure'));
    SELECT max((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''?(\d+)''?\)'))[1]::bigint)
      INTO high
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'ledger_posting'::regclass;
    high := coalesce(high, 0);
    WHILE high <= greatest(p_top, 0) + p_ahead * width LOOP
        PERFORM ledger_posting_partition_create(high / width);
        high := high + width;
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;

CREATE FUNCTION ledger_posting_partitions_ensure(p_ahead integer DEFAULT {POSTING_PARTITIONS_AHEAD})
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    RETURN ledger_posting_partitions_ensure_upto(
        coalesce(pg_sequence_last_value('ledger_posting_id_seq'::regclass), 0), p_ahead);
END $$;
"""  # noqa: S608 - constants of this module

POSTING_FORWARD = rf"""
LOCK TABLE ledger_posting IN ACCESS EXCLUSIVE MODE;
ALTER TABLE ledger_posting RENAME TO ledger_posting_unpartitioned;
ALTER TABLE ledger_posting_unpartitioned DROP CONSTRAINT ledger_posting_pkey;
DROP INDEX ledger_posting_account_id, ledger_posting_account_id_964f801d,
    ledger_posting_entry_id_1c3a07af;

CREATE TABLE ledger_posting (
    id bigint NOT NULL,
    direction varchar(1) NOT NULL,
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    account_id bigint NOT NULL,
    entry_id bigint NOT NULL
) PARTITION BY RANGE (id);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_amount_gt_0 CHECK (amount > 0);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_direction
    CHECK (direction::text = ANY (ARRAY['D'::varchar, 'C'::varchar]::text[]));
{POSTING_FUNCTIONS}
SELECT ledger_posting_partitions_ensure_upto(
    (SELECT coalesce(max(id), 0) FROM ledger_posting_unpartitioned), 1);
INSERT INTO ledger_posting ({POSTING_COLUMNS})
    SELECT {POSTING_COLUMNS} FROM ledger_posting_unpartitioned;

ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_pkey PRIMARY KEY (id);
CREATE INDEX ledger_posting_account_id ON ledger_posting (account_id, id);
CREATE INDEX ledger_posting_account_id_964f801d ON ledger_posting (account_id);
CREATE INDEX ledger_posting_entry_id_1c3a07af ON ledger_posting (entry_id);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_entry_id_1c3a07af_fk_ledger_entry_id
    FOREIGN KEY (entry_id) REFERENCES ledger_entry (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_account_currency_fk
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency);
CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_truncate();

-- The identity sequence keeps its name and position.
DO $$
DECLARE
    last bigint;
    called boolean;
BEGIN
    SELECT last_value, is_called INTO last, called FROM ledger_posting_id_seq;
    DROP TABLE ledger_posting_unpartitioned;
    ALTER TABLE ledger_posting ALTER COLUMN id
        ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME ledger_posting_id_seq);
    PERFORM setval('ledger_posting_id_seq', last, called);
END $$;
SELECT ledger_posting_partitions_ensure();
"""  # noqa: S608 - constants of this module

# Back to one plain table with the rules of migration 0002.
POSTING_REVERSE = rf"""
LOCK TABLE ledger_posting IN ACCESS EXCLUSIVE MODE;
CREATE TABLE ledger_posting_plain (
    id bigint NOT NULL,
    direction varchar(1) NOT NULL,
    amount bigint NOT NULL,
    currency varchar(3) NOT NULL,
    account_id bigint NOT NULL,
    entry_id bigint NOT NULL
);
INSERT INTO ledger_posting_plain ({POSTING_COLUMNS})
    SELECT {POSTING_COLUMNS} FROM ledger_posting;
DO $$
DECLARE
    last bigint;
    called boolean;
BEGIN
    SELECT last_value, is_called INTO last, called FROM ledger_posting_id_seq;
    DROP TABLE ledger_posting;
    ALTER TABLE ledger_posting_plain RENAME TO ledger_posting;
    ALTER TABLE ledger_posting ALTER COLUMN id
        ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME ledger_posting_id_seq);
    PERFORM setval('ledger_posting_id_seq', last, called);
END $$;
DROP FUNCTION ledger_posting_partitions_ensure(integer),
    ledger_posting_partitions_ensure_upto(bigint, integer),
    ledger_posting_partition_create(bigint);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_pkey PRIMARY KEY (id);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_amount_gt_0 CHECK (amount > 0);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_direction
    CHECK (direction::text = ANY (ARRAY['D'::varchar, 'C'::varchar]::text[]));
CREATE INDEX ledger_posting_account_id ON ledger_posting (account_id, id);
CREATE INDEX ledger_posting_account_id_964f801d ON ledger_posting (account_id);
CREATE INDEX ledger_posting_entry_id_1c3a07af ON ledger_posting (entry_id);
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_entry_id_1c3a07af_fk_ledger_entry_id
    FOREIGN KEY (entry_id) REFERENCES ledger_entry (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_account_currency_fk
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency);
CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_truncate();
"""  # noqa: S608 - constants of this module

_DELTA_PARTITIONS = "\n".join(
    f"CREATE TABLE ledger_balancedelta_h{i} PARTITION OF ledger_balancedelta"
    f" FOR VALUES WITH (MODULUS {BALANCE_DELTA_PARTITIONS}, REMAINDER {i});"
    for i in range(BALANCE_DELTA_PARTITIONS)
)


def _delta_table(name: str, partitioned: bool) -> str:
    return (
        f"CREATE TABLE {name} (id bigint NOT NULL, amount bigint NOT NULL,"
        f" account_id bigint NOT NULL){' PARTITION BY HASH (account_id)' if partitioned else ''};"
    )


def _delta_rules(primary_key: str) -> str:
    return rf"""
ALTER TABLE ledger_balancedelta ADD CONSTRAINT ledger_balancedelta_pkey PRIMARY KEY ({primary_key});
ALTER TABLE ledger_balancedelta ADD CONSTRAINT ledger_delta_not_zero CHECK (NOT amount = 0);
CREATE INDEX ledger_balancedelta_account_id_0adf0c2f ON ledger_balancedelta (account_id);
ALTER TABLE ledger_balancedelta
    ADD CONSTRAINT ledger_balancedelta_account_id_0adf0c2f_fk_ledger_account_id
    FOREIGN KEY (account_id) REFERENCES ledger_account (id) DEFERRABLE INITIALLY DEFERRED;
"""


def _delta_swap(new_table: str) -> str:
    return rf"""
INSERT INTO {new_table} ({DELTA_COLUMNS}) SELECT {DELTA_COLUMNS} FROM ledger_balancedelta;
DO $$
DECLARE
    last bigint;
    called boolean;
BEGIN
    SELECT last_value, is_called INTO last, called FROM ledger_balancedelta_id_seq;
    DROP TABLE ledger_balancedelta;
    ALTER TABLE {new_table} RENAME TO ledger_balancedelta;
    ALTER TABLE ledger_balancedelta ALTER COLUMN id
        ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME ledger_balancedelta_id_seq);
    PERFORM setval('ledger_balancedelta_id_seq', last, called);
END $$;
"""  # noqa: S608 - constants of this module


DELTA_FORWARD = "\n".join(
    [
        "LOCK TABLE ledger_balancedelta IN ACCESS EXCLUSIVE MODE;",
        _delta_table("ledger_balancedelta_partitioned", partitioned=True),
        _DELTA_PARTITIONS.replace(
            "PARTITION OF ledger_balancedelta ", "PARTITION OF ledger_balancedelta_partitioned "
        ),
        _delta_swap("ledger_balancedelta_partitioned"),
        _delta_rules("id, account_id"),
    ]
)
DELTA_REVERSE = "\n".join(
    [
        "LOCK TABLE ledger_balancedelta IN ACCESS EXCLUSIVE MODE;",
        _delta_table("ledger_balancedelta_plain", partitioned=False),
        _delta_swap("ledger_balancedelta_plain"),
        _delta_rules("id"),
    ]
)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_test_databases_allow_truncate")]

    # Database only: Django's model state (and its primary keys) does not change.
    operations = [
        migrations.RunSQL(sql=POSTING_FORWARD, reverse_sql=POSTING_REVERSE),
        migrations.RunSQL(sql=DELTA_FORWARD, reverse_sql=DELTA_REVERSE),
    ]
