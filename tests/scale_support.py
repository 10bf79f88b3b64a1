"""A real primary and streaming replica for the scale tests (scripts/scale_cluster.py),
and the Django connections pointed at them.

``scale_cluster`` (session) starts a primary, one hot standby and PgBouncer under
``.data/scale-test-<id>/`` and copies the migrated test database onto the primary (the
standby receives it by streaming). ``scaled_databases`` (module) points the ``default``
alias at that primary — or at PgBouncer — and adds ``replica_0`` for the standby, then
puts everything back.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from scale_cluster import Cluster, free_port  # noqa: E402

__all__ = ["Cluster", "free_port", "worker_start", "workers_stop"]

REPLICA = "replica_0"


def conninfo(db: dict) -> str:
    """A libpq connection string for a Django settings dict (the host may be a socket
    directory, which a URL would have to encode)."""
    parts = {
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "dbname": db["NAME"],
    }
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


@contextlib.contextmanager
def cluster_running(source_db: dict) -> Iterator[Cluster]:
    directory = ROOT / ".data" / f"scale-test-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(directory=directory, replicas=1, pgbouncer_pool_size=4)
    try:
        cluster.up_primary()
        cluster.up_replicas()
        cluster.up_pgbouncer()
        cluster.copy_database(conninfo(source_db))
        replica_catch_up(cluster)
        yield cluster
    finally:
        cluster.down()
        shutil.rmtree(directory, ignore_errors=True)


def replica_catch_up(cluster: Cluster, timeout: float = 60) -> None:
    """Wait until the standby has replayed everything the primary has written."""
    target = cluster.sql(cluster.primary_port, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = cluster.sql(
            cluster.replica_ports[0],
            f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn",
        )
        if done == "t":
            return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {target} in {timeout} s")


@contextlib.contextmanager
def databases_pointed_at(cluster: Cluster, *, through_pgbouncer: bool = False) -> Iterator[None]:
    """``default`` on the cluster's primary (or PgBouncer), ``replica_0`` on its standby."""
    from django.db import connections

    default = connections["default"]
    default.close()
    saved = dict(default.settings_dict)
    port = cluster.pgbouncer_port if through_pgbouncer else cluster.primary_port
    default.settings_dict.update(
        HOST="127.0.0.1", PORT=port, NAME="socialpay", USER="postgres", PASSWORD=""
    )
    replica = dict(default.settings_dict, PORT=cluster.replica_ports[0])
    replica["TEST"] = dict(saved.get("TEST") or {}, MIRROR="default")
    connections.settings[REPLICA] = replica
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            connections[REPLICA].close()
        with contextlib.suppress(AttributeError):
            del connections[REPLICA]
        connections.settings.pop(REPLICA, None)
        default.close()
        default.settings_dict.clear()
        default.settings_dict.update(saved)


@contextlib.contextmanager
def app_through_pgbouncer(cluster: Cluster) -> Iterator[None]:
    """This process as the scaled app: ``default`` through PgBouncer in transaction mode
    (the ledger's prepared statements and server-side cursors off) and a ``session`` alias
    straight to the primary for the session-level idempotency claims
    (``DATABASE_SESSION_URL`` in production)."""
    from django.db import connections
    from django.test import override_settings

    with (
        databases_pointed_at(cluster, through_pgbouncer=True),
        override_settings(LEDGER_PREPARED_STATEMENTS=False),
    ):
        connections["default"].settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
        session = dict(
            connections["default"].settings_dict,
            PORT=cluster.primary_port,
            CONN_MAX_AGE=0,
            TEST={"MIRROR": "default"},
        )
        connections.settings["session"] = session
        try:
            with override_settings(IDEMPOTENCY_LOCK_DATABASE="session"):
                yield
        finally:
            connections["session"].close()
            del connections["session"]
            connections.settings.pop("session", None)


def worker_start(name: str, queues: list[str], env: dict[str, str], log) -> subprocess.Popen:
    """A Celery worker named ``name`` reading ``queues``, as a process of its own (what a
    worker on another machine is to the broker), its output going to ``log``."""
    # Threads: SIGKILL then takes the worker and every task it runs at once, as when its
    # machine dies.
    command = [str(Path(sys.executable).parent / "celery"), "-A", "socialpay", "worker"]
    command += ["--pool", "threads", "--concurrency", "2", "-n", name, "-Q", ",".join(queues)]
    command += ["--without-mingle", "--without-gossip", "--loglevel", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def workers_stop(procs: dict[str, subprocess.Popen], app) -> None:
    """End the test's Celery workers: SIGTERM to all (a warm shutdown finishes the task in
    hand), a minute to exit, SIGKILL for any still running; then drop what is left queued
    so that the next test's workers do not inherit it."""
    for proc in procs.values():
        proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    app.control.purge()
