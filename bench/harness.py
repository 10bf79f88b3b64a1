"""What the benchmarks share: their own database on the ``DATABASE_URL`` server, a gunicorn
started the way production runs it, the CPU time of its workers, and a free port.

Imported by the bench scripts as ``harness`` (``python bench/<name>.py`` puts this folder
first on the import path).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def database_url(name: str) -> str:
    """``DATABASE_URL`` with the database name replaced by the benchmark's own."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socialpay")
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def server_params(url: str) -> dict:
    """psycopg2 keyword arguments for the ``postgres`` database on ``url``'s server. The host
    may be a percent-encoded socket directory (``postgres://user@%2Fpath%2Fto%2Fsockets/db``,
    as with the embedded test server), which ``urlsplit().hostname`` leaves encoded (and
    lowercased)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    else:
        host = host.rpartition(":")[0] if ":" in host else host
    return {
        "host": unquote(host) or None,
        "port": parts.port or 5432,
        "user": unquote(parts.username or "") or "postgres",
        "password": unquote(parts.password) if parts.password else None,
        "dbname": "postgres",
    }


def database_ensure(name: str, *, fresh: bool = False) -> bool:
    """Create the benchmark's database when missing (dropped first with ``fresh``).
    Returns True when it was created, i.e. it is empty and needs migrating and seeding."""
    import psycopg2

    conn = psycopg2.connect(**server_params(database_url(name)))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if fresh:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is not None:
                return False
            cur.execute(f'CREATE DATABASE "{name}"')
            return True
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = ("gunicorn", "granian")


def server_start(
    port: int,
    workers: int,
    env: dict[str, str],
    *,
    server: str = "gunicorn",
    threads: int = 1,
    ready_path: str = "/favicon.ico",
    app: str = "socialpay.wsgi",
    ready_timeout: float = 60,
) -> subprocess.Popen:
    """A WSGI server in a process group of its own (stop it with ``os.killpg``); returns
    once ``ready_path`` answers anything. ``app`` may also name a module of this folder
    (``floor:application``).

    ``server`` is ``gunicorn`` (sync workers, one request at a time each, as production
    runs it) or ``granian`` (a Rust HTTP server calling the WSGI app from ``threads``
    blocking threads per worker process; each thread holds its own database connection, so
    ``workers * threads`` is the pool the database sees)."""
    floor = app.startswith("floor")
    bin_dir = Path(sys.executable).parent
    if server == "gunicorn":
        command = [
            str(bin_dir / "gunicorn"),
            app,
            # Only for the floor: bench/ledger.py would shadow the app's ledger package.
            *(["--pythonpath", str(ROOT / "bench")] if floor else []),
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "sync",
            "--no-control-socket",
            "--backlog", "2048",
            "--log-level", "warning",
        ]  # fmt: skip
    elif server == "granian":
        if floor:  # as --pythonpath above, for the floor only
            env = dict(env, PYTHONPATH=str(ROOT / "bench"))
        command = [
            str(bin_dir / "granian"),
            "--interface", "wsgi",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--workers", str(workers),
            "--blocking-threads", str(threads),
            "--backlog", "2048",
            "--no-ws",
            "--log-level", "warning",
            app if ":" in app else f"{app}:application",
        ]  # fmt: skip
    else:
        raise ValueError(f"unknown server {server!r}: one of {SERVERS}")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", ready_path)
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.3)
    # The whole group: workers that did boot must not outlive their master.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise RuntimeError(f"{server} did not start")


def gunicorn_start(port: int, workers: int, env: dict[str, str], **kwargs) -> subprocess.Popen:
    """:func:`server_start` with gunicorn's sync workers, as production runs the app."""
    return server_start(port, workers, env, server="gunicorn", **kwargs)


def workers_cpu(master: int) -> float:
    """User + system CPU seconds of gunicorn's workers (children of ``master``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def celery_queue_purge(env: dict[str, str]) -> None:
    """Tasks the app queued during a run went to a queue no worker reads: drop them."""
    import redis

    client = redis.Redis.from_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    client.delete(env["CELERY_QUEUE"])


# --- Smoke runs ------------------------------------------------------------------------------
# ``--smoke`` runs a benchmark at toy size (seconds, no figures judged) on a throwaway
# database, so that the test suite notices when a schema change breaks one. Migrating a
# database takes minutes on a busy 2-core machine, so the smoke copies are cloned from a
# template migrated once per state of the migrations (its name carries their hash) and kept
# on the server, as pytest-django's --reuse-db keeps the test database.

SMOKE_TEMPLATE_PREFIX = "sp_bench_smoke_template_"
# Set by smoke_database(): the database is a copy of a freshly migrated template.
SMOKE = False


def migrate() -> None:
    """``manage.py migrate`` in this process, skipped in a smoke run (a no-op migrate alone
    takes tens of seconds on a busy machine)."""
    if SMOKE:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _admin_connection():
    import psycopg2

    conn = psycopg2.connect(**server_params(database_url("postgres")))
    conn.autocommit = True
    return conn


def _migrations_hash() -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("**/migrations/*.py")):
        if ".venv" in path.parts or ".data" in path.parts:
            continue
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def smoke_template() -> str:
    """The migrated template database for smoke runs, made when the migrations changed
    (older templates are dropped then)."""
    name = SMOKE_TEMPLATE_PREFIX + _migrations_hash()
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            # One maker at a time: two test runs on one server must not both migrate it.
            cur.execute("SELECT pg_advisory_lock(hashtext('sp_bench_smoke_template'))")
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                building = name + "_building"
                cur.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{building}"')
                env = dict(os.environ, DATABASE_URL=database_url(building), LOG_LEVEL="WARNING")
                env["SOCIALPAY_PROFILE"] = "development"
                subprocess.run(
                    [sys.executable, "manage.py", "migrate", "-v", "0"],
                    cwd=ROOT, env=env, check=True,
                )  # fmt: skip
                cur.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    [SMOKE_TEMPLATE_PREFIX + "%"],
                )
                for (old,) in cur.fetchall():
                    if old != building:
                        cur.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
                cur.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            cur.execute("SELECT pg_advisory_unlock(hashtext('sp_bench_smoke_template'))")
    finally:
        conn.close()
    return name


def smoke_database(base: str) -> str:
    """A fresh, migrated, throwaway database for a smoke run of benchmark ``base``; it is
    dropped when the process exits."""
    import atexit
    import uuid

    global SMOKE
    SMOKE = True
    template = smoke_template()
    name = f"{base}_smoke_{uuid.uuid4().hex[:8]}"
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        conn.close()
    atexit.register(database_drop, name)
    return name


def database_drop(name: str) -> None:
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def insert_select(model, values: dict[str, str], source: str, params: dict) -> tuple[str, dict]:
    """``INSERT INTO <model's table> (every column) SELECT ... FROM <source>`` for bulk seeding
    in SQL: ``values`` gives an SQL expression for some columns, every other column gets its
    field's default (so a field added later cannot break the seed with a NOT NULL error).
    Returns the statement and its parameters (pyformat)."""
    from django.db import connection

    columns, exprs, params = [], [], dict(params)
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in values:
            continue
        if field.column in values:
            columns.append(f'"{field.column}"')
            exprs.append(values[field.column])
            continue
        if field.has_db_default():
            continue  # PostgreSQL fills it in
        default = field.get_default()  # "" for a blank text field, None when nullable
        if default is None and not field.null:
            raise ValueError(f"seed gives no value for {model.__name__}.{field.name}")
        key = f"default_{field.column}"
        params[key] = field.get_db_prep_save(default, connection)
        columns.append(f'"{field.column}"')
        exprs.append(f"%({key})s")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(exprs)} FROM {source}"
    )
    return sql, params
