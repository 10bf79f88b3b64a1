"""One node against the scaled setup, side by side: transfers/s and timeline reads/s.

    python bench/scale.py [--seconds 12] [--clients 16] [--workers 8] [--pool-size 4]
                          [--users 500] [--rounds 3] [--smoke]
    (make scale-bench BENCH_ARGS="...")

What it does:

1. Starts a cluster of its own (scripts/scale_cluster.py) under ``.data/scale-bench-*``:
   a primary, one streaming replica, PgBouncer (transaction mode, ``--pool-size``
   server connections) and a 6-node Redis Cluster, and copies the migrated smoke template
   of the ``DATABASE_URL`` server onto the primary (the replica receives it by streaming).
2. Seeds ``--users`` funded people with tokens (bench/transfers.py's setup), each following
   20 others, with 3 posts each.
3. Starts two gunicorns with ``--workers`` sync workers each, both on that same data:
   **one node**, the app connected straight to the primary (one PostgreSQL backend per
   worker) with its one Redis, and **scaled**, the app through PgBouncer with the read
   replica on (``DATABASE_REPLICA_URLS``, prepared statements and server-side cursors
   off) and the cache, rate limits and timelines on the Redis Cluster
   (``REDIS_CLUSTER_URLS``). Both serve timelines fanned out on write.
4. Loads each with ``--clients`` keep-alive clients: ``POST /api/v1/transfers`` of 0.01
   USD between random people and ``GET /api/v1/timeline`` of random people, in
   ``--rounds`` alternating slices, and samples the backends each server holds on the
   primary and the replica.
5. Prints the two side by side, then runs ``ledger_verify`` on the primary.

Everything runs on one machine: the replica and PgBouncer take CPU from the primary and
the app, so this shows what the scaled wiring costs and what it spares PostgreSQL
(backends), not what a second machine would add. See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import harness  # noqa: E402
import transfers as transfers_bench  # noqa: E402
from harness import database_url, free_port, gunicorn_start, server_params  # noqa: E402
from scale_cluster import DATABASE, Cluster  # noqa: E402

FOLLOWS = 20
POSTS_EACH = 3


def _conninfo(url: str) -> str:
    params = {k: v for k, v in server_params(url).items() if v}
    params["dbname"] = url.rsplit("/", 1)[1]
    return " ".join(f"{k}='{v}'" for k, v in params.items())


def seed_social(ids: list[int]) -> None:
    """Follows and posts for the timeline (bulk, in this process's Django)."""
    from accounts.models import Follow
    from posts.models import Post

    rng = random.Random(7)
    follows = [
        Follow(follower_id=me, followee_id=other)
        for me in ids
        for other in rng.sample(ids, min(FOLLOWS + 1, len(ids)))
        if other != me
    ]
    Follow.objects.bulk_create(follows, batch_size=2000, ignore_conflicts=True)
    Post.objects.bulk_create(
        [Post(author_id=me, text=f"post {n} of {me}") for me in ids for n in range(POSTS_EACH)],
        batch_size=2000,
    )


def wait_replica(cluster: Cluster, timeout: float = 120) -> None:
    target = cluster.sql(cluster.primary_port, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replayed = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        if cluster.sql(cluster.replica_ports[0], replayed) == "t":
            return
        time.sleep(0.1)
    raise RuntimeError("the replica did not catch up")


class Backends:
    """Samples, while a slice runs, the PostgreSQL backends of the app's database on the
    primary (split into PgBouncer's server connections and the rest, which are the one-node
    app's own) and on the replica, and PgBouncer's client connections."""

    SQL = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'socialpay'"

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.peak = {"direct": 0, "pooled": 0, "replica": 0, "pool clients": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        c = self.cluster
        while not self._stop.is_set():
            primary = int(c.sql(c.primary_port, self.SQL) or 0)
            replica = int(c.sql(c.replica_ports[0], self.SQL) or 0)
            pools = c.pgbouncer_pools()
            servers = sum(v for k, v in pools.items() if k.startswith("sv_"))
            clients = pools.get("cl_active", 0) + pools.get("cl_waiting", 0)
            for key, value in (
                ("direct", primary - servers),
                ("pooled", servers),
                ("replica", replica),
                ("pool clients", clients),
            ):
                self.peak[key] = max(self.peak[key], value)
            self._stop.wait(0.2)

    def __enter__(self) -> Backends:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=12, help="per case, in total")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=8, help="gunicorn workers per setup")
    parser.add_argument("--pool-size", type=int, default=4, help="PgBouncer server connections")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="toy size (for the tests)")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.clients, args.workers, args.pool_size = 1, 2, 2, 2
        args.users, args.rounds = 12, 1

    template = harness.smoke_template()
    directory = ROOT / ".data" / f"scale-bench-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(directory=directory, replicas=1, pgbouncer_pool_size=args.pool_size)
    servers: list[subprocess.Popen] = []
    load_before = os.getloadavg()
    try:
        cluster.up_primary()
        cluster.up_replicas()
        cluster.up_pgbouncer()
        cluster.up_redis_cluster()
        cluster.copy_database(_conninfo(database_url(template)), DATABASE)
        # The copy is of a migrated database: transfers.setup need not migrate.
        harness.SMOKE = True
        transfers_bench.DB_NAME = DATABASE
        os.environ["DATABASE_URL"] = cluster.primary_url
        handles, tokens, ids, _shop = transfers_bench.setup(args.users)
        seed_social(ids)
        from django.db import connections

        connections.close_all()
        wait_replica(cluster)

        # Both setups read timelines from Redis (fan-out on write; the bench's bulk-seeded
        # timelines are built on their first read): one node from its one Redis, the
        # scaled setup from the Redis Cluster.
        base = dict(transfers_bench.server_env(0), TIMELINE_FANOUT="true")
        base.pop("DATABASE_REPLICA_URLS", None)
        base.pop("REDIS_CLUSTER_URLS", None)
        one_node = dict(base, DATABASE_URL=cluster.primary_url)
        scaled = dict(
            base,
            DATABASE_URL=cluster.pgbouncer_url,
            DATABASE_REPLICA_URLS=",".join(cluster.replica_urls),
            LEDGER_PREPARED_STATEMENTS="false",
            DB_DISABLE_SERVER_SIDE_CURSORS="true",
            # The bench's writers read their timelines too: keep read-your-writes short.
            READ_YOUR_WRITES_SECONDS="1",
            **cluster.redis_cluster_environment(),
        )
        setups = {}
        for name, env in (("one node", one_node), ("scaled", scaled)):
            port = free_port()
            # Many workers booting at once on a busy machine take their time.
            server = gunicorn_start(
                port, args.workers, env, ready_path="/api/v1/me", ready_timeout=300
            )
            servers.append(server)
            setups[name] = port

        people = list(zip(handles, tokens, strict=True))

        def transfer(rng):
            i, j = rng.sample(range(len(people)), 2)
            body = json.dumps({"to": people[j][0], "amount": 1, "currency": "USD"})
            headers = {
                "Authorization": f"Bearer {people[i][1]}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            return "POST", "/api/v1/transfers", body, headers

        def timeline(rng):
            _, token = rng.choice(people)
            return "GET", "/api/v1/timeline", None, {"Authorization": f"Bearer {token}"}

        cases = [("POST /transfers", transfer), ("GET /timeline", timeline)]
        warm = 0.3 if args.smoke else 2
        for port in setups.values():
            for _, make in cases:
                transfers_bench.load(port, warm, args.clients, make)
        results: dict[tuple[str, str], list[dict]] = {}
        peaks: dict[str, dict[str, int]] = {name: {} for name in setups}
        per_slice = args.seconds / args.rounds
        for _ in range(args.rounds):
            for case, make in cases:
                for name, port in setups.items():
                    with Backends(cluster) as backends:
                        result = transfers_bench.load(port, per_slice, args.clients, make)
                    result["cpu_s"] = 0.0
                    results.setdefault((name, case), []).append(result)
                    for db, peak in backends.peak.items():
                        peaks[name][db] = max(peaks[name].get(db, 0), peak)
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        servers.clear()

        combined = {key: transfers_bench._combine(parts) for key, parts in results.items()}
        load_after = os.getloadavg()
        print(
            f"{args.workers} gunicorn sync workers per setup, {args.clients} clients, "
            f"{args.seconds:.0f} s per case in {args.rounds} rounds, {args.users} people; "
            f"PgBouncer pool {args.pool_size}; load average {load_before[0]:.1f} before, "
            f"{load_after[0]:.1f} after, {os.cpu_count()} CPUs (one machine for everything)"
        )
        print(f"{'':26}{'one node':>16}{'scaled':>16}")
        for case, _ in cases:
            cells = []
            for name in setups:
                r = combined[(name, case)]
                errors = sum(r["errors"].values())
                cells.append(f"{r['rate']:8.0f}/s" + (f" ({errors} err)" if errors else ""))
            print(f"{case:26}" + "".join(f"{c:>16}" for c in cells))
        for case, _ in cases:
            cells = [f"{combined[(name, case)]['p99_ms']:7.1f} ms" for name in setups]
            print(f"{case + ' p99':26}" + "".join(f"{c:>16}" for c in cells))
        # What each setup's app holds while it is loaded: one node, a backend per worker on
        # the primary; scaled, PgBouncer's server connections and the replica's backends.
        rows = (
            ("primary backends", lambda p: p["direct"], lambda p: p["pooled"]),
            ("app connections", lambda p: p["direct"], lambda p: p["pool clients"]),
            ("replica backends", lambda p: 0, lambda p: p["replica"]),
        )
        for label, one, many in rows:
            cells = [str(one(peaks["one node"])), str(many(peaks["scaled"]))]
            print(f"{'peak ' + label:26}" + "".join(f"{c:>16}" for c in cells))

        env = dict(os.environ, DATABASE_URL=cluster.primary_url, LOG_LEVEL="WARNING")
        env.pop("DATABASE_REPLICA_URLS", None)
        harness.celery_queue_purge(base)
        verify = subprocess.run(
            [sys.executable, "manage.py", "ledger_verify"], cwd=ROOT, env=env, check=False
        )
        failed = any(sum(r["errors"].values()) > r["ok"] * 0.01 for r in combined.values()) or any(
            r["ok"] == 0 for r in combined.values()
        )
        return verify.returncode or int(failed)
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        cluster.down()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
