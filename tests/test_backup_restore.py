"""make backup / make restore: a populated database and its uploads are backed up, restored
into a new database, and the restored ledger verifies (the restore script runs
ledger_verify itself). Real PostgreSQL, the machine's pg_dump and pg_restore."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

from conftest import _database_url
from ledger.models import Entry, Posting
from payments.wallets.models import Transfer
from payments.wallets.tests.support import api, fund, generous_throttles, key, person

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    from payments.processors.sandbox import engine
    from payments.wallets import receipts

    generous_throttles(monkeypatch)
    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)
    # Receipts (and their webhook events) are written by payment_receipts through this.
    monkeypatch.setattr(receipts, "receipts_send", lambda specs, **_: None)


def _counts(url: str) -> dict[str, int]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            counts = {}
            for table in ("ledger_entry", "ledger_posting", "accounts_user", "payments_transfer"):
                cur.execute(f"SELECT count(*) FROM {table}")
                counts[table] = cur.fetchone()[0]
            return counts
    finally:
        conn.close()



def _client_bin_dirs() -> list[str]:
    """Directories holding pg_dump and pg_restore of the test server's major version: the
    embedded server's own (pgserver ships them) or the distribution's."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version_num")
        major = int(cur.fetchone()[0]) // 10000
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
    try:
        import pgserver

        candidates.insert(0, Path(pgserver.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    found = []
    for directory in candidates:
        pg_dump = directory / "pg_dump"
        if not pg_dump.exists():
            continue
        version = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True)
        digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in version.stdout)
        if digits.split() and digits.split()[0].split(".")[0] == str(major):
            found.append(str(directory))
    return found

def test_a_backup_restores_into_a_new_database_whose_ledger_verifies(tmp_path):
    alice, bob = person(), person()
    fund(alice, 10_000)
    for amount in (1_250, 700, 99):
        response = api(alice).post(
            "/api/v1/transfers",
            {"to": bob.handle, "amount": amount, "currency": "USD"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key(),
        )
        assert response.status_code == 201
    media = tmp_path / "media"
    (media / "avatars").mkdir(parents=True)
    (media / "avatars" / "alice.png").write_bytes(b"\x89PNG fake avatar")
    source = _database_url(settings.DATABASES["default"])
    target_name = f"{settings.DATABASES['default']['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    target = source.rsplit("/", 1)[0] + f"/{target_name}"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        # pg_dump refuses a newer server: put the client tools of the server's version first.
        "PATH": os.pathsep.join([*_client_bin_dirs(), os.environ.get("PATH", "")]),
        "DATABASE_URL": source,
        "MEDIA_ROOT": str(media),
        "BACKUP_DIR": str(tmp_path / "backups"),
        "PYTHON": sys.executable,
    }
    try:
        backup = subprocess.run(
            ["make", "-s", "backup"], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert backup.returncode == 0, backup.stdout + backup.stderr
        [dump] = (tmp_path / "backups").glob("socialpay-*.dump")
        assert (tmp_path / "backups" / dump.name.replace(".dump", "-media.tar.gz")).exists()

        restored_media = tmp_path / "restored-media"
        restore = subprocess.run(
            ["make", "-s", "restore", f"BACKUP={dump}"],
            cwd=ROOT,
            env={**env, "RESTORE_DATABASE_URL": target, "MEDIA_ROOT": str(restored_media)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert "verifying the restored ledger" in restore.stdout
        assert "OK: every invariant holds." in restore.stdout

        assert _counts(target) == _counts(source)
        assert _counts(target)["ledger_entry"] == Entry.objects.count() >= 4
        assert _counts(target)["ledger_posting"] == Posting.objects.count()
        assert _counts(target)["payments_transfer"] == Transfer.objects.count() == 3
        assert (restored_media / "avatars" / "alice.png").read_bytes() == b"\x89PNG fake avatar"

        # A second restore into the now populated database is refused.
        again = subprocess.run(
            ["make", "-s", "restore", f"BACKUP={dump}"],
            cwd=ROOT,
            env={**env, "RESTORE_DATABASE_URL": target, "MEDIA_ROOT": str(tmp_path / "m2")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode != 0
        assert "not empty" in again.stderr
    finally:
        conn = psycopg2.connect(source.rsplit("/", 1)[0] + "/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)')
        conn.close()
