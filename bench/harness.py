"""What the benchmarks share: their own database on the ``DATABASE_URL`` server, a gunicorn
started the way production runs it, the CPU time of its workers, and a free port.

Imported by the bench scripts as ``harness`` (``python bench/<name>.py`` puts this folder
first on the import path).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def database_url(name: str) -> str:
    """``DATABASE_URL`` with the database name replaced by the benchmark's own."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socialpay")
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def database_ensure(name: str, *, fresh: bool = False) -> bool:
    """Create the benchmark's database when missing (dropped first with ``fresh``).
    Returns True when it was created, i.e. it is empty and needs migrating and seeding."""
    import psycopg2

    parts = urlsplit(database_url(name))
    conn = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, dbname="postgres",
    )  # fmt: skip
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


def gunicorn_start(
    port: int, workers: int, env: dict[str, str], *, ready_path: str = "/favicon.ico"
) -> subprocess.Popen:
    """gunicorn with sync workers in a process group of its own (stop it with
    ``os.killpg``); returns once ``ready_path`` answers anything."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "socialpay.wsgi",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "sync",
            "--no-control-socket",
            "--backlog", "2048",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", ready_path)
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


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
