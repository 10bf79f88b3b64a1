"""P2P transfers, wallet tips and ``GET /me`` over HTTP, each as a ratio of the floor (and
of pgbench running the floor's transfer), in one run.

    python bench/transfers.py [--seconds 15] [--clients 16] [--workers 4] [--users 1000]
                              [--rounds 3] [--compare-prepared] [--smoke]
                              [--server gunicorn|granian] [--threads 1]

What it does:

1. Uses its own database, ``sp_bench_transfers`` on the server named by ``DATABASE_URL``
   (created and migrated when missing; every run adds fresh people, so runs never collide).
2. Creates ``--users`` people (verified tier) with a Bearer token each and funds every
   wallet with 1,000.00 USD through the ledger service (a card top-up's credit entry), and
   as many funded accounts of the floor's own ledger tables (``bench/floor.py``). The
   first 50 people sell: four paid posts and a digital product each, all at 0.01 USD.
3. Starts two gunicorns with the same settings (sync workers, ``--no-control-socket``,
   persistent database connections) on free local ports: the app with ``DEBUG`` off and
   the velocity/throttle limits opened wide (this measures the money path, not the rate
   limiter's refusals; the limiter still runs), and the floor app (no middleware: a
   one-row read by primary key and a plain-SQL ledger transfer).
4. Loads them with ``--clients`` concurrent keep-alive HTTP clients (threads): the floor's
   read (as a plain Django view and as a DRF view), ``GET /api/v1/me``, the floor's
   transfer, ``POST /api/v1/transfers`` of 0.01 USD between random pairs (each with a fresh
   ``Idempotency-Key``), wallet tips of 0.01 USD to random people's tip jars (``POST
   /api/v1/users/{handle}/tips``) and to one creator (every client tips the same person:
   the hot-creator case), unlocks of paid posts (``POST /api/v1/posts/{id}/unlock``, each a
   first purchase) and orders of one product from random sellers (``POST /api/v1/orders``),
   and pgbench running the floor's transfer as a SQL script with as many clients (no HTTP,
   no Python: what PostgreSQL itself allows). ``--seconds`` each in total, in ``--rounds``
   alternating slices so all see the same background load. Prints requests/s, p50, p99 and
   the serving gunicorn workers' CPU milliseconds per request of each, the load average,
   and the ratios (median over the rounds): the app to the floor, transfers to pgbench, a
   tip's, an unlock's and an order's CPU to a transfer's, tips to one creator to tips
   spread over many.
   With ``--server granian``, granian serves both instead (``--workers`` processes of
   ``--threads`` blocking threads each, the same for the app and the floor), to compare the
   servers: run it after a default run and compare the two outputs.
   With ``--compare-prepared``, a third gunicorn serves the app with the ledger's prepared
   statements off (``LEDGER_PREPARED_STATEMENTS=false``, as behind a transaction pooler)
   and its transfers are compared with the first's.
5. Stops them and runs ``manage.py ledger_verify`` on the bench database.

The load generator runs on the same 2-core machine as the servers and PostgreSQL, so it
takes CPU from them; ratios within one run and CPU per request are the figures to compare.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from harness import (  # noqa: E402
    SERVERS,
    celery_queue_purge,
    database_ensure,
    database_url,
    free_port,
    server_params,
    server_start,
    smoke_database,
    workers_cpu,
)

BENCH_DB = "sp_bench_transfers"
# The floor's transfer (bench/floor.py) as a pgbench script: the same statements in one
# transaction, without HTTP or Python in the way.
PGBENCH_TRANSFER = """\\set a random(1, :accounts)
\\set b random(1, :accounts)
BEGIN;
SELECT id, balance FROM floor_account WHERE id IN (:a, :b) ORDER BY id FOR UPDATE;
UPDATE floor_account SET balance = balance - 1 WHERE id = :a;
UPDATE floor_account SET balance = balance + 1 WHERE id = :b;
INSERT INTO floor_entry (created_at) VALUES (now()) RETURNING id AS entry \\gset
INSERT INTO floor_posting (entry_id, account_id, amount) VALUES (:entry, :a, -1), (:entry, :b, 1);
END;
"""
DB_NAME = BENCH_DB  # a throwaway copy in a smoke run
# Unlocks and orders: who sells (the first people) and how many paid posts each has. Every
# unlock must be a first purchase (a repeat is answered without paying), so the run needs
# more (buyer, post) pairs than it makes unlocks: 1,000 people x 200 posts.
SELLERS = 50
PAID_POSTS_EACH = 4
FUNDS = 100_000  # 1,000.00 USD per person


def server_env(port: int) -> dict[str, str]:
    """The app server's environment for the benchmarks (also used by ``flamegraph.py`` and
    ``scale.py``): the bench database, ``DEBUG`` off, limits opened wide, its own queue."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(DB_NAME),
        SOCIALPAY_PROFILE="development",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="600",
        WALLET_TRANSFERS_PER_MINUTE="1000000",
        WALLET_VERIFIED_WEEKLY_SEND=str(10**12),
        THROTTLE_USER="100000000/min",
        THROTTLE_MONEY="100000000/min",
        CELERY_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",  # receipts queue up here, purged after
    )
    return env


def setup(users: int) -> tuple[list[str], list[str], list[int], dict]:
    """People, tokens and funded wallets, the floor's accounts (ids 1..users), and a shop
    (``shop_setup``); returns (handles, tokens, user ids, shop)."""
    os.environ["DATABASE_URL"] = database_url(DB_NAME)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    import django

    django.setup()
    from accounts.models import User
    from core.money import Money
    from ledger import chart
    from ledger.services import credit, debit, entry_post

    harness.migrate()
    run = uuid.uuid4().hex[:6]
    handles, tokens = [], []
    started = time.perf_counter()
    from django.utils import timezone

    from accounts.handles import handle_key, handle_skeleton
    from accounts.models import ApiToken

    rows = []
    for i in range(users):
        row = User(
            handle=f"b{run}_{i}",
            email=f"b{run}_{i}@bench.invalid",
            verification_tier="verified",
        )
        row.handle_key = handle_key(row.handle)
        row.handle_skeleton = handle_skeleton(row.handle_key)
        row.set_unusable_password()
        rows.append(row)
    User.objects.bulk_create(rows, batch_size=500)
    now = timezone.now()
    secrets = [ApiToken.new_secret() for _ in range(users)]
    created = list(User.objects.filter(handle__startswith=f"b{run}_").order_by("id"))
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                user=user,
                digest=ApiToken.digest_of(secret),
                prefix=secret[:8],
                name="bench",
                created_at=now,
                reauthenticated_at=now,
            )
            for user, secret in zip(created, secrets, strict=True)
        ],
        batch_size=500,
    )
    for user, secret in zip(created, secrets, strict=True):
        money = Money(FUNDS, "USD")
        entry_post(
            code="topup",
            idempotency_key=f"bench:{run}:{user.pk}",
            postings=[
                debit(chart.processor_clearing_key("sandbox", "USD"), money),
                credit(chart.wallet_key(user.pk, "USD"), money),
            ],
            reference=f"bench:{run}",
        )
        handles.append(user.handle)
        tokens.append(secret)
    print(f"setup: {users} funded people with tokens in {time.perf_counter() - started:.1f} s")
    from django.db import connection, connections
    from floor import floor_setup

    floor_setup(connection, users, FUNDS)
    shop = shop_setup(created)
    connections.close_all()
    return handles, tokens, [user.pk for user in created], shop


def shop_setup(people: list) -> dict:
    """The first ``SELLERS`` people (fewer in a small run) sell: each has
    ``PAID_POSTS_EACH`` paid posts of 0.01 USD and a digital product of 0.01 USD with stock
    for every order of the run. Returns ``{"posts": [(post id, author index)],
    "products": [(product id, seller index)]}``."""
    from core.money import Money
    from payments.creators.services import product_create
    from posts.models import Post

    sellers = people[: max(1, min(SELLERS, len(people) // 2))]
    posts = Post.objects.bulk_create(
        [
            Post(author=seller, text="teaser", locked_text="the good part",
                 price_amount=1, price_currency="USD")
            for seller in sellers
            for _ in range(PAID_POSTS_EACH)
        ],
        batch_size=500,
    )  # fmt: skip
    index = {seller.pk: n for n, seller in enumerate(sellers)}
    products = []
    for seller in sellers:
        shop_post = Post.objects.create(author=seller, text="shop")
        product = product_create(
            seller=seller,
            post_id=shop_post.pk,
            title="Zine",
            description="",
            price=Money(1, "USD"),
            stock=1_000_000,  # the most a product may have: more than a run sells
            kind="digital",
            delivery_url="https://example.com/zine.pdf",
        )
        products.append((product.pk, index[seller.pk]))
    return {
        "posts": [(post.pk, index[post.author_id]) for post in posts],
        "products": products,
    }


def me_request(people: list) -> Callable:
    """``GET /api/v1/me`` as a random one of ``people`` ((handle, token, id) triples)."""

    def make(rng):
        _, token, _ = rng.choice(people)
        return "GET", "/api/v1/me", None, {"Authorization": f"Bearer {token}"}

    return make


def transfer_request(people: list) -> Callable:
    """``POST /api/v1/transfers`` of 0.01 USD between two random people, a fresh key each."""

    def make(rng):
        i, j = rng.sample(range(len(people)), 2)
        body = json.dumps({"to": people[j][0], "amount": 1, "currency": "USD"})
        return "POST", "/api/v1/transfers", body, _money_headers(people[i][1])

    return make


def tip_request(people: list) -> Callable:
    """A wallet tip of 0.01 USD to a random person's tip jar (``to``: always to that one)."""

    def make(rng, *, to=None):
        i, j = rng.sample(range(len(people)), 2)
        if to is not None:
            i, j = (i if i != to else j), to
        body = json.dumps({"amount": 1, "currency": "USD"})
        return "POST", f"/api/v1/users/{people[j][0]}/tips", body, _money_headers(people[i][1])

    return make


def _money_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": uuid.uuid4().hex,
    }


def load(port: int, seconds: float, clients: int, make_request) -> dict:
    """Run ``clients`` keep-alive clients for ``seconds``; latencies of 2xx answers."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[dict[int, int]] = [{} for _ in range(clients)]
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def client(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        while time.monotonic() < stop:
            method, path, body, headers = make_request(rng)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                errors[n][0] = errors[n].get(0, 0) + 1
                continue
            elapsed = time.perf_counter() - t0
            if 200 <= response.status < 300:
                latencies[n].append(elapsed)
            else:
                errors[n][response.status] = errors[n].get(response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    ok = sorted(x for part in latencies for x in part)
    failed: dict[int, int] = {}
    for part in errors:
        for status, count in part.items():
            failed[status] = failed.get(status, 0) + count
    return {"ok": len(ok), "wall": wall, "latencies": ok, "errors": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per endpoint, in total")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per endpoint")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="gunicorn",
        help="the WSGI server of the app and the floor alike (production runs gunicorn)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="granian's blocking threads per worker"
    )
    parser.add_argument(
        "--compare-prepared",
        action="store_true",
        help="also serve transfers from an app with LEDGER_PREPARED_STATEMENTS off (as behind "
        "a transaction pooler) and compare",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()

    global DB_NAME
    if args.smoke:
        DB_NAME = smoke_database(BENCH_DB)
        args.seconds, args.clients, args.workers, args.users, args.rounds = 1, 2, 1, 10, 1
    else:
        database_ensure(BENCH_DB)
    load_before = os.getloadavg()
    port, floor_port = free_port(), free_port()
    env = server_env(port)
    handles, tokens, ids, shop = setup(args.users)
    floor_env = dict(env, DJANGO_SETTINGS_MODULE="floor")
    serve = dict(server=args.server, threads=args.threads)
    proc = server_start(port, args.workers, env, ready_path="/api/v1/me", **serve)
    servers = [proc]
    if args.compare_prepared:
        unprepared_port = free_port()
        unprepared_env = dict(server_env(unprepared_port), LEDGER_PREPARED_STATEMENTS="false")
        unprepared = server_start(
            unprepared_port, args.workers, unprepared_env, ready_path="/api/v1/me", **serve
        )
        servers.append(unprepared)
    floor = server_start(
        floor_port,
        args.workers,
        floor_env,
        ready_path="/floor/read?id=0",
        app="floor:application",
        **serve,
    )
    try:
        people = list(zip(handles, tokens, ids, strict=True))

        me, transfer, tip = me_request(people), transfer_request(people), tip_request(people)

        def floor_read(rng):
            return "GET", f"/floor/read?id={rng.choice(people)[2]}", None, {}

        def floor_drf_read(rng):
            return "GET", f"/floor/drf-read?id={rng.choice(people)[2]}", None, {}

        def floor_transfer(rng):
            i, j = rng.sample(range(1, len(people) + 1), 2)
            body = json.dumps({"from": i, "to": j, "amount": 1})
            return "POST", "/floor/transfer", body, {"Content-Type": "application/json"}

        def tip_one_creator(rng):
            return tip(rng, to=0)

        # Every (buyer, paid post) pair once, in a random order shared by the clients.
        pairs = [
            (buyer, post)
            for post, seller in shop["posts"]
            for buyer in range(len(people))
            if buyer != seller
        ]
        random.Random(7).shuffle(pairs)
        next_pair = itertools.count()

        def money_post(path: str, buyer: int, body: str) -> tuple:
            return "POST", path, body, _money_headers(people[buyer][1])

        def unlock(rng):
            buyer, post = pairs[next(next_pair) % len(pairs)]
            return money_post(f"/api/v1/posts/{post}/unlock", buyer, "")

        def order(rng):
            product, seller = rng.choice(shop["products"])
            buyer = rng.choice([n for n in rng.sample(range(len(people)), 2) if n != seller])
            return money_post(
                "/api/v1/orders", buyer, json.dumps({"product": product, "quantity": 1})
            )

        cases = [
            ("floor: read 1 row", floor_port, floor, floor_read),
            ("floor: DRF read", floor_port, floor, floor_drf_read),
            ("GET /me", port, proc, me),
            ("floor: transfer", floor_port, floor, floor_transfer),
            ("POST /transfers", port, proc, transfer),
            ("POST /tips", port, proc, tip),
            ("POST /tips 1 creator", port, proc, tip_one_creator),
            ("POST /posts/{id}/unlock", port, proc, unlock),
            ("POST /orders", port, proc, order),
        ]
        if args.compare_prepared:
            cases.append(("POST /transfers unprep", unprepared_port, unprepared, transfer))
        pgbench = PgBenchTransfer(accounts=len(people), clients=args.clients)
        warm = 0.3 if args.smoke else 2
        for _, case_port, _, make in cases:  # every worker's connection and imports
            load(case_port, warm, args.clients, make)
        # Alternate short slices of the cases so that all see the same background load
        # (the machine is shared); CPU time of the serving gunicorn's workers is read
        # around each slice, which is steadier than requests per second.
        slices: dict[str, list[dict]] = {name: [] for name, *_ in cases}
        per_slice = args.seconds / args.rounds
        for _ in range(args.rounds):
            for name, case_port, server, make in cases:
                cpu_before = workers_cpu(server.pid)
                result = load(case_port, per_slice, args.clients, make)
                result["cpu_s"] = workers_cpu(server.pid) - cpu_before
                slices[name].append(result)
            if pgbench.available:
                slices.setdefault("pgbench: transfer", []).append(pgbench.run(per_slice))
        results = {name: _combine(parts) for name, parts in slices.items()}
        rounds = [
            {name: _combine([parts[n]]) for name, parts in slices.items()}
            for n in range(args.rounds)
        ]
    finally:
        for server in (*servers, floor):
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    load_after = os.getloadavg()
    server = (
        f"gunicorn: {args.workers} sync workers"
        if args.server == "gunicorn"
        else f"granian: {args.workers} workers of {args.threads} blocking thread(s)"
    )
    print(
        f"{server} each for the app and the floor, "
        f"{args.clients} concurrent clients, {args.seconds:.0f} s per case in {args.rounds} "
        f"rounds, {args.users} people; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after, {os.cpu_count()} CPUs"
    )
    for name, r in results.items():
        if name.startswith("pgbench"):  # no HTTP answers to time, no app CPU
            print(f"{name:22} {r['rate']:7.0f} tx/s    ok {r['ok']}")
            continue
        print(
            f"{name:22} {r['rate']:7.0f} req/s   p50 {r['p50_ms']:6.1f} ms   "
            f"p99 {r['p99_ms']:6.1f} ms   app CPU {r['cpu_ms']:5.2f} ms/req   ok {r['ok']}   "
            f"errors {r['errors'] or 'none'}"
        )
    for label, app, base, target in (
        ("GET /me / floor read", "GET /me", "floor: read 1 row", 0.6),
        # DRF's own share of the distance, and the app's share (no targets: a breakdown).
        ("floor DRF read / floor read", "floor: DRF read", "floor: read 1 row", None),
        ("GET /me / floor DRF read", "GET /me", "floor: DRF read", None),
        ("POST /transfers / floor transfer", "POST /transfers", "floor: transfer", 0.5),
        ("POST /transfers / pgbench transfer", "POST /transfers", "pgbench: transfer", 0.15),
        ("tips to 1 creator / tips spread", "POST /tips 1 creator", "POST /tips", 0.9),
        ("transfers without / with prepares", "POST /transfers unprep", "POST /transfers", None),
    ):
        if base not in results or app not in results:
            if app in results or base.startswith("pgbench"):
                print(f"{label}: not measured (pgbench not found)")
            continue
        per_round = [r[app]["rate"] / r[base]["rate"] for r in rounds if r[base]["rate"]]
        cpu = [r[app]["cpu_ms"] / r[base]["cpu_ms"] for r in rounds if r[base]["cpu_ms"]]
        print(
            f"{label}: throughput {statistics.median(per_round):.2f} (median of "
            f"{len(per_round)} rounds"
            + (f"; target >= {target})" if target else ")")
            + (f", app CPU per request {statistics.median(cpu):.1f}x" if cpu else "")
        )
    for label, name in (
        ("a tip's", "POST /tips"),
        ("an unlock's", "POST /posts/{id}/unlock"),
        ("an order's", "POST /orders"),
    ):
        cpu = [r[name]["cpu_ms"] / r["POST /transfers"]["cpu_ms"] for r in rounds]
        print(
            f"{label} app CPU / a transfer's: {statistics.median(cpu):.2f} (median of "
            f"{len(cpu)} rounds; target <= 1.3)"
        )
    ratio = results["POST /transfers"]["rate"] / results["GET /me"]["rate"]
    print(f"transfers / me throughput ratio: {ratio:.2f}")

    celery_queue_purge(env)
    verify = subprocess.run(
        [sys.executable, "manage.py", "ledger_verify"], cwd=ROOT, env=env, check=False
    )
    return verify.returncode


class PgBenchTransfer:
    """pgbench running ``PGBENCH_TRANSFER`` against the floor's tables on the bench database
    (the floor's accounts 1..``accounts``) with ``clients`` connections."""

    def __init__(self, *, accounts: int, clients: int) -> None:
        self.binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
        self.available = Path(self.binary).exists()
        if not self.available:
            print("pgbench not found; no pgbench reference", file=sys.stderr)
        self.accounts, self.clients = accounts, clients
        params = server_params(database_url(DB_NAME))
        self.env = dict(os.environ, PGHOST=params["host"] or "", PGPORT=str(params["port"]))
        self.env["PGUSER"] = params["user"]
        if params["password"]:
            self.env["PGPASSWORD"] = params["password"]
        self.script = Path(os.environ.get("TMPDIR", "/tmp")) / f"floor-{uuid.uuid4().hex}.sql"
        self.script.write_text(PGBENCH_TRANSFER)

    def run(self, seconds: float) -> dict:
        """One slice: pgbench's transactions per second as a rate (no CPU figure: the work
        is PostgreSQL's own), in the shape of ``load``'s result."""
        result = subprocess.run(
            [self.binary, "-n", "-f", str(self.script), "-D", f"accounts={self.accounts}",
             "-c", str(self.clients), "-j", "2", "-T", str(max(1, round(seconds))), DB_NAME],
            env=self.env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        done = next(
            int(line.split(":")[1]) for line in result.stdout.splitlines()
            if line.startswith("number of transactions actually processed")
        )  # fmt: skip
        tps = next(
            float(line.split()[2]) for line in result.stdout.splitlines()
            if line.startswith("tps = ")
        )  # fmt: skip
        return {
            "ok": done,
            "wall": done / tps if tps else float(seconds),
            "latencies": [],  # pgbench reports only the average latency
            "errors": {},
            "cpu_s": 0.0,
        }


def _combine(parts: list[dict]) -> dict:
    ok = sum(p["ok"] for p in parts)
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors: dict[int, int] = {}
    for p in parts:
        for status, count in p["errors"].items():
            errors[status] = errors.get(status, 0) + count
    wall = sum(p["wall"] for p in parts)
    cpu = sum(p["cpu_s"] for p in parts)
    return {
        "ok": ok,
        "rate": ok / wall,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000
        if latencies
        else float("nan"),
        "cpu_ms": cpu / ok * 1000 if ok else float("nan"),
        "errors": errors,
    }


if __name__ == "__main__":
    sys.exit(main())
