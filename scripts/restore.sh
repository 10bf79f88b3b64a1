#!/usr/bin/env bash
# make restore BACKUP=<dir>/socialpay-<time>.dump: the database into a NEW, empty database
# (created when missing), the uploads (the -media.tar.gz beside the dump) into MEDIA_ROOT,
# then `manage.py ledger_verify` on the restored database: a restore is only done when
# the ledger verifies.
#
#   BACKUP                the .dump file written by make backup (required)
#   RESTORE_DATABASE_URL  where to restore (default DATABASE_URL); must be empty
#   MEDIA_ROOT            where the uploads go (default .data/media); must be empty
#   PYTHON                the interpreter with SocialPay installed (default .venv/bin/python,
#                         else python)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BACKUP:?set BACKUP to a .dump file written by make backup}"
TARGET="${RESTORE_DATABASE_URL:-${DATABASE_URL:?set RESTORE_DATABASE_URL or DATABASE_URL}}"
MEDIA_ROOT="${MEDIA_ROOT:-.data/media}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
[ -f "$BACKUP" ] || { echo "no such backup: $BACKUP" >&2; exit 1; }

# Create the target database when it does not exist (connecting to the server's
# maintenance database), and refuse one that already holds tables.
"$PYTHON" - "$TARGET" <<'PY'
import sys
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

url = sys.argv[1]
parts = urlsplit(url)
name = unquote(parts.path.lstrip("/"))
maintenance = urlunsplit(parts._replace(path="/postgres"))
conn = psycopg2.connect(maintenance)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cur.fetchone() is None:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}")
conn.close()
conn = psycopg2.connect(url)
with conn.cursor() as cur:
    cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    if cur.fetchone()[0]:
        sys.exit(f"database {name} is not empty: restore into a new database")
conn.close()
PY

# One transaction: a restore that fails part-way leaves an empty database, not half a ledger.
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$TARGET" "$BACKUP"
echo "database restored from $BACKUP"

media="${BACKUP%.dump}-media.tar.gz"
if [ -f "$media" ]; then
  mkdir -p "$MEDIA_ROOT"
  if [ -n "$(ls -A "$MEDIA_ROOT")" ]; then
    echo "MEDIA_ROOT $MEDIA_ROOT is not empty: uploads not restored" >&2
    exit 1
  fi
  tar -xzf "$media" -C "$MEDIA_ROOT"
  echo "media restored into $MEDIA_ROOT"
fi

echo "verifying the restored ledger"
DATABASE_URL="$TARGET" "$PYTHON" manage.py ledger_verify
