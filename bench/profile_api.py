"""Where an API request's CPU goes: cProfile of ``GET /api/v1/me``, ``POST /api/v1/transfers``
and a wallet tip (``POST /api/v1/users/{handle}/tips``), the creator payment to hold to a
transfer's cost.

    python bench/profile_api.py [--requests 500] [--out bench/results] [--cpu] [--smoke]

Runs in one process on a throwaway database (a copy of the migrated template that
``--smoke`` runs use, dropped at exit): makes two funded people with a Bearer token, then
sends each request ``--requests`` times through Django's full request handler (every
middleware, DEBUG off, the limits opened wide as in ``bench/transfers.py``) under
cProfile, after a warm-up. Writes, per endpoint, ``profile-<name>.txt`` (the functions by
own time and by cumulative time) and ``profile-<name>.pstats`` (for snakeviz or
``flameprof`` to draw a flame graph) into ``--out``, and prints the CPU milliseconds per
request. ``--cpu`` times functions by the process's CPU clock (what a worker pays for)
rather than the wall clock (which includes waiting for PostgreSQL and Redis).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from harness import database_url, smoke_database  # noqa: E402

BENCH_DB = "sp_bench_profile"


def setup_django(name: str) -> None:
    os.environ.update(
        DATABASE_URL=database_url(name),
        SOCIALPAY_PROFILE="development",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        WALLET_TRANSFERS_PER_MINUTE="1000000",
        WALLET_VERIFIED_WEEKLY_SEND=str(10**12),
        THROTTLE_USER="100000000/min",
        THROTTLE_MONEY="100000000/min",
        CELERY_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def people() -> list[tuple[str, str]]:
    """Two verified, funded people with a token each: (handle, token)."""
    from accounts.models import User
    from accounts.services import token_create, user_signup
    from core.money import Money
    from ledger import chart
    from ledger.services import credit, debit, entry_post

    made = []
    for _ in range(2):
        handle = f"p{uuid.uuid4().hex[:10]}"
        user = user_signup(handle=handle, email=f"{handle}@bench.invalid", password="x" * 16)
        User.objects.filter(pk=user.pk).update(verification_tier="verified")
        money = Money(10**9, "USD")
        entry_post(
            code="topup",
            idempotency_key=f"bench-profile:{user.pk}",
            postings=[
                debit(chart.processor_clearing_key("sandbox", "USD"), money),
                credit(chart.wallet_key(user.pk, "USD"), money),
            ],
        )
        _, secret = token_create(user=user, name="bench")
        made.append((handle, secret))
    return made


def profile(name: str, call, requests: int, out: Path, *, cpu_clock: bool = False) -> float:
    for _ in range(min(50, requests)):  # imports, caches, the connection
        call()
    # Wall time shows where a request waits (PostgreSQL, Redis); the process's CPU clock
    # shows only what this process computes, which is what a worker's CPU budget pays for.
    profiler = cProfile.Profile(time.process_time) if cpu_clock else cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    for _ in range(requests):
        call()
    profiler.disable()
    cpu_ms = (time.process_time() - cpu) * 1000 / requests
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    # File names without the directories they sit in on this machine.
    stats.strip_dirs()
    stats.dump_stats(out / f"profile-{name}.pstats")
    text.write(f"{name}: {requests} requests, {cpu_ms:.2f} CPU ms per request (with cProfile)\n")
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(80)
    (out / f"profile-{name}.txt").write_text(text.getvalue())
    return cpu_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time functions by this process's CPU clock instead of the wall clock",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    # A throwaway copy of the migrated template either way: a profile needs no old data.
    name = smoke_database(BENCH_DB)
    if args.smoke:
        args.requests = 3
        args.out = Path(os.environ.get("TMPDIR", "/tmp")) / f"profile-{uuid.uuid4().hex[:8]}"
    args.out.mkdir(parents=True, exist_ok=True)
    setup_django(name)
    from django.test import Client

    (_, token), (payee, _) = people()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = json.dumps({"to": payee, "amount": 1, "currency": "USD"})

    def me():
        assert client.get("/api/v1/me").status_code == 200

    def transfer():
        response = client.post(
            "/api/v1/transfers",
            body,
            content_type="application/json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.content

    tip_body = json.dumps({"amount": 1, "currency": "USD"})

    def tip():
        response = client.post(
            f"/api/v1/users/{payee}/tips",
            tip_body,
            content_type="application/json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.content

    for label, call in (("me", me), ("transfer", transfer), ("tip", tip)):
        cpu_ms = profile(label, call, args.requests, args.out, cpu_clock=args.cpu)
        print(f"{label}: {cpu_ms:.2f} CPU ms per request under cProfile -> {args.out}")
    harness.celery_queue_purge(dict(os.environ))
    if args.smoke:
        for path in args.out.iterdir():
            path.unlink()
        args.out.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
