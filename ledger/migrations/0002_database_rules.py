"""PostgreSQL enforcement of the ledger invariants (see the docstring of ledger.models).

Everything here also holds for writes that bypass Django: raw SQL, psql, another service.
Errors are raised with SQLSTATE class 23 (integrity constraint violation), so Django
reports them as IntegrityError.
"""

from django.db import migrations

APPEND_ONLY_TABLES = ["ledger_entry", "ledger_posting", "ledger_holdleg", "ledger_auditevent"]
NO_TRUNCATE_TABLES = [*APPEND_ONLY_TABLES, "ledger_account", "ledger_hold"]

FUNCTIONS = r"""
CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed: the ledger is append-only (post a reversing entry)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = '23000';
END $$;

-- TRUNCATE is refused unless the session explicitly sets ledger.allow_truncate = on. Only the
-- test profile does so, because Django empties every table between transactional tests.
CREATE FUNCTION ledger_reject_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('ledger.allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger: TRUNCATE of % is not allowed', TG_TABLE_NAME USING ERRCODE = '23000';
END $$;

CREATE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger: accounts cannot be deleted' USING ERRCODE = '23000';
    END IF;
    IF NEW.id <> OLD.id OR NEW.key <> OLD.key OR NEW.kind <> OLD.kind
       OR NEW.currency <> OLD.currency OR NEW.no_overdraft <> OLD.no_overdraft
       OR NEW.owner_id IS DISTINCT FROM OLD.owner_id OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'ledger: account % identity cannot change', OLD.key USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION ledger_hold_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger: holds cannot be deleted' USING ERRCODE = '23000';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status NOT IN ('posted', 'voided')
       OR NEW.id <> OLD.id OR NEW.code <> OLD.code OR NEW.idempotency_key <> OLD.idempotency_key
       OR NEW.reference <> OLD.reference OR NEW.metadata <> OLD.metadata
       OR NEW.fingerprint <> OLD.fingerprint OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'ledger: hold % can only move once from pending to posted or voided', OLD.id
            USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END $$;

-- Zero-sum per currency and at least two legs, for one entry (or one hold).
CREATE FUNCTION ledger_check_entry(p_entry bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    balanced boolean;
BEGIN
    SELECT coalesce(sum(c), 0), coalesce(bool_and(s = 0), true) INTO n, balanced
    FROM (SELECT count(*) AS c, sum(CASE direction WHEN 'D' THEN amount ELSE -amount END) AS s
          FROM ledger_posting WHERE entry_id = p_entry GROUP BY currency) per_currency;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger: entry % has % posting(s); at least two are required', p_entry, n
            USING ERRCODE = '23514';
    END IF;
    IF NOT balanced THEN
        RAISE EXCEPTION 'ledger: entry % does not sum to zero per currency', p_entry
            USING ERRCODE = '23514';
    END IF;
END $$;

CREATE FUNCTION ledger_check_hold(p_hold bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    balanced boolean;
BEGIN
    SELECT coalesce(sum(c), 0), coalesce(bool_and(s = 0), true) INTO n, balanced
    FROM (SELECT count(*) AS c, sum(CASE direction WHEN 'D' THEN amount ELSE -amount END) AS s
          FROM ledger_holdleg WHERE hold_id = p_hold GROUP BY currency) per_currency;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger: hold % has % leg(s); at least two are required', p_hold, n
            USING ERRCODE = '23514';
    END IF;
    IF NOT balanced THEN
        RAISE EXCEPTION 'ledger: hold % does not sum to zero per currency', p_hold
            USING ERRCODE = '23514';
    END IF;
END $$;

CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch is planned only when it runs, so NEW.entry_id is never read on ledger_entry.
    IF TG_TABLE_NAME = 'ledger_entry' THEN
        PERFORM ledger_check_entry(NEW.id);
    ELSE
        PERFORM ledger_check_entry(NEW.entry_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_hold_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_hold' THEN
        PERFORM ledger_check_hold(NEW.id);
    ELSE
        PERFORM ledger_check_hold(NEW.hold_id);
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = r"""
-- Checked at commit: an entry is inserted before its postings, in the same transaction.
CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE CONSTRAINT TRIGGER ledger_hold_balanced AFTER INSERT ON ledger_hold
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_hold_balanced();
CREATE CONSTRAINT TRIGGER ledger_holdleg_balanced AFTER INSERT ON ledger_holdleg
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_hold_balanced();

CREATE TRIGGER ledger_account_guard BEFORE UPDATE OR DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();
CREATE TRIGGER ledger_hold_guard BEFORE UPDATE OR DELETE ON ledger_hold
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_guard();

-- A posting's (and hold leg's) currency is its account's currency.
ALTER TABLE ledger_posting ADD CONSTRAINT ledger_posting_account_currency_fk
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency);
ALTER TABLE ledger_holdleg ADD CONSTRAINT ledger_holdleg_account_currency_fk
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency);
"""

APPEND_ONLY = "\n".join(
    f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
    f"FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();"
    for t in APPEND_ONLY_TABLES
)
NO_TRUNCATE = "\n".join(
    f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_truncate();"
    for t in NO_TRUNCATE_TABLES
)

REVERSE = "\n".join(
    [
        *(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t};" for t in APPEND_ONLY_TABLES),
        *(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t};" for t in NO_TRUNCATE_TABLES),
        "DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;",
        "DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;",
        "DROP TRIGGER IF EXISTS ledger_hold_balanced ON ledger_hold;",
        "DROP TRIGGER IF EXISTS ledger_holdleg_balanced ON ledger_holdleg;",
        "DROP TRIGGER IF EXISTS ledger_account_guard ON ledger_account;",
        "DROP TRIGGER IF EXISTS ledger_hold_guard ON ledger_hold;",
        "ALTER TABLE ledger_posting DROP CONSTRAINT IF EXISTS ledger_posting_account_currency_fk;",
        "ALTER TABLE ledger_holdleg DROP CONSTRAINT IF EXISTS ledger_holdleg_account_currency_fk;",
        "DROP FUNCTION IF EXISTS ledger_entry_balanced, ledger_hold_balanced, ledger_check_entry,"
        " ledger_check_hold, ledger_hold_guard, ledger_account_guard, ledger_reject_truncate,"
        " ledger_reject_change;",
    ]
)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql="\n".join([FUNCTIONS, TRIGGERS, APPEND_ONLY, NO_TRUNCATE]), reverse_sql=REVERSE
        )
    ]
