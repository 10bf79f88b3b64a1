"""Celery workers as separate hosts: receipts, outgoing webhooks and payouts completed per
second with 1, 2 and 4 worker processes, and every effect exactly once.

    python bench/workers.py [--workers 1 2 4] [--concurrency 2] [--receipts 2000]
                            [--webhooks 1500] [--endpoints 16] [--payouts 300] [--netns]

Each worker is a ``celery worker`` process with a host name of its own
(``-n bench<i>@bench-host-<i>``) consuming the split queues (``CELERY_SPLIT_QUEUES``: the
default queue and its ``.payouts``, ``.webhooks`` and ``.receipts``), as a worker on a
machine of its own would. With ``--netns`` (root, ``ip netns``) each worker also runs in
a network namespace of its own, reaching PostgreSQL, Redis, the SMTP server and the
webhook receiver through a veth pair, as over a network.

For each worker count, with the workers started and answering, three backlogs are worked
off one after the other, each timed from its kick to its last effect:

- receipts: outbox rows (``payments.receipts_outbox_drain``), each a notification and an
  e-mail to a local SMTP server (``bench/sinks.py``);
- webhooks: events of ``--endpoints`` people, each with an endpoint on a local receiver
  that takes 20-50 ms a request, as a real one does (``hooks.events_dispatch``, then the
  dispatcher's batched deliveries);
- payouts: requested payouts submitted to the sandbox processor, settled by it and paid
  (``payouts.submit``, the sandbox's settlement, its webhook and our processing of it).

Then it checks the effects: each webhook event received once (the receiver's counts) with
one delivered ``Delivery`` and one ``Attempt``; each receipt recorded and e-mailed once;
each payout submitted once to the processor (one sandbox payout per payout id), paid once
(one ``paid`` event, one ledger entry per key) and ``manage.py ledger_verify`` clean.

It prints completed per second for each kind and worker count, the ratio to one worker,
the CPU count and the load average around each run. Uses a database of its own
(``sp_bench_workers_<random>``, cloned from the migrated template of the smoke runs and
dropped at exit) on the ``DATABASE_URL`` server, and queues of its own on ``REDIS_URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import database_url, smoke_database  # noqa: E402
from sinks import SmtpSink, WebhookReceiver  # noqa: E402

BENCH_DB = "sp_bench_workers"
QUEUE = f"bench-workers-{uuid.uuid4().hex[:8]}"
# payout_request queues the submission after commit; the benchmark parks those tasks here
# (nobody reads it) and sends the submissions itself when the clock starts.
PARKED = f"{QUEUE}.parked"
KINDS = ("receipts", "webhooks", "payouts")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def worker_env(db_name: str, smtp: SmtpSink) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SOCIALPAY_PROFILE", "DJANGO_SETTINGS_MODULE", "PAYOUTS_QUEUE"}
    }
    env.update(
        DATABASE_URL=database_url(db_name),
        CELERY_QUEUE=QUEUE,
        CELERY_SPLIT_QUEUES="true",
        EMAIL_URL=smtp.url,
        PAYOUT_DESTINATION_HOLD_HOURS="0",
        LOG_LEVEL=os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
        SOCIALPAY_PROFILE="development",
    )
    return env


def setup_django(db_name: str, smtp: SmtpSink) -> None:
    os.environ.update(worker_env(db_name, smtp))
    os.environ["PAYOUTS_QUEUE"] = PARKED
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    import django

    django.setup()


# --- workers -----------------------------------------------------------------------------------
class Workers:
    """``count`` worker processes, each ``bench<i>@bench-host-<i>`` on every split queue;
    with ``netns`` each in a network namespace of its own (``netns.py``)."""

    def __init__(self, count: int, concurrency: int, env: dict[str, str], netns) -> None:
        from core.celery_queues import work_queues

        self.names = [f"bench{i}@bench-host-{i}" for i in range(count)]
        self.queues = [QUEUE, *work_queues(QUEUE).values()]
        self.concurrency = concurrency
        self.env = env
        self.netns = netns
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Workers:
        from socialpay.celery import app

        log = os.environ.get("BENCH_WORKER_LOG", os.devnull)
        for i, name in enumerate(self.names):
            command = [
                str(Path(sys.executable).parent / "celery"), "-A", "socialpay", "worker",
                "-n", name, "-Q", ",".join(self.queues),
                "--pool", "prefork", "--concurrency", str(self.concurrency),
                "--without-mingle", "--without-gossip", "--loglevel", "WARNING",
            ]  # fmt: skip
            if self.netns is not None:
                command = self.netns.wrap(i, command)
            self.procs.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=open(log, "ab"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 300
        while True:
            answered = {next(iter(r)) for r in app.control.ping(destination=self.names, timeout=1)}
            if answered == set(self.names):
                return self
            for proc in self.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"a worker exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"workers did not answer: {set(self.names) - answered}")

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- the people --------------------------------------------------------------------------------
def make_people(count: int, funds: int) -> list:
    """Verified people with a bank account and ``funds`` cents in their wallet; each also
    has a webhook endpoint (made by ``make_endpoints``)."""
    from accounts.models import User
    from accounts.services import user_signup
    from core.money import Money
    from ledger import chart
    from ledger.services import credit, debit, entry_post
    from payments.payouts.services import payout_destination_add

    people = []
    for _ in range(count):
        handle = f"w{uuid.uuid4().hex[:12]}"
        user = user_signup(handle=handle, email=f"{handle}@example.com", password="x" * 16)
        User.objects.filter(pk=user.pk).update(verification_tier="verified")
        user.refresh_from_db()
        payout_destination_add(user=user, account_number="000123456789", routing_number="110000000")
        money = Money(funds, "USD")
        entry_post(
            code="topup",
            idempotency_key=f"bench-topup:{user.pk}",
            postings=[
                debit(chart.processor_clearing_key("sandbox", "USD"), money),
                credit(chart.wallet_key(user.pk, "USD"), money),
            ],
        )
        people.append(user)
    return people


def make_endpoints(people: list, receiver: WebhookReceiver) -> None:
    from payments.hooks.services import endpoint_create

    for user in people:
        endpoint_create(
            user=user, url=receiver.url(f"/hooks/{user.pk}"), event_types=["payment.received"]
        )


# --- the backlogs ------------------------------------------------------------------------------
# What beat sends while a backlog is worked off (socialpay/settings.py, its schedule): a
# drain runs until its time limit, then the next one carries on.
BEAT = {
    "receipts": [("payments.receipts_outbox_drain", 1)],
    "webhooks": [("hooks.events_dispatch", 5), ("hooks.deliveries_due", 30)],
    "payouts": [("payouts.sweep", 60)],
}


def wait_for(done, total: int, kind: str, timeout: float = 1800) -> None:
    from socialpay.celery import app

    started = time.monotonic()
    sent = {task: started for task, _every in BEAT[kind]}
    while (n := done()) < total:
        now = time.monotonic()
        if now - started > timeout:
            raise SystemExit(f"{kind}: {n} of {total} after {timeout:.0f} s")
        for task, every in BEAT[kind]:
            if now - sent[task] >= every:
                app.send_task(task)
                sent[task] = now
        time.sleep(0.1)


def receipts_run(tag: str, people: list, count: int, kicks: int, smtp: SmtpSink) -> float:
    """``count`` outbox rows of one receipt each; timed from the drains' kick to the last
    e-mail."""
    from payments.wallets.models import ReceiptOutbox
    from payments.wallets.receipts import ReceiptSpec
    from socialpay.celery import app

    rows = [
        ReceiptOutbox(
            payload=[
                asdict(
                    ReceiptSpec(
                        key=f"bench:{tag}:{i}:recipient",
                        kind="money_received",
                        recipient_id=people[i % len(people)].pk,
                        subject=f"bench {tag} {i}",
                        body="You received $1.00.",
                    )
                )
            ]
        )
        for i in range(count)
    ]
    ReceiptOutbox.objects.bulk_create(rows, batch_size=1000)
    prefix = f"bench {tag} "
    started = time.perf_counter()
    # What the web processes' wake-ups and beat do: one drain per worker slot.
    for _ in range(kicks):
        app.send_task("payments.receipts_outbox_drain")
    wait_for(lambda: sum(1 for s in smtp.received() if s.startswith(prefix)), count, "receipts")
    return time.perf_counter() - started


def webhooks_run(tag: str, people: list, count: int, kicks: int) -> float:
    """``count`` events spread over the people's endpoints; timed from the dispatch kick to
    the last delivery recorded."""
    from payments.hooks.models import Delivery, Event
    from payments.wallets.events import event_id_new
    from socialpay.celery import app

    events = Event.objects.bulk_create(
        [
            Event(
                public_id=event_id_new(),
                user=people[i % len(people)],
                kind="payment.received",
                payload={"bench": tag, "n": i},
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    first = min(e.pk for e in events)
    started = time.perf_counter()
    for _ in range(kicks):
        app.send_task("hooks.events_dispatch")
    wait_for(
        lambda: Delivery.objects.filter(event_id__gte=first, status="delivered").count(),
        count,
        "webhooks",
    )
    return time.perf_counter() - started


def payouts_run(people: list, count: int) -> tuple[float, list[int]]:
    """``count`` payouts requested (their submissions parked); timed from sending the
    submissions to the last payout paid with its ledger effects booked."""
    import redis

    from core.money import Money
    from payments.payouts.models import Payout
    from payments.payouts.services import payout_request
    from socialpay.celery import app

    ids = [
        payout_request(
            user=people[i % len(people)],
            amount=Money(100, "USD"),
            method="standard",
            request_key=f"bench-{uuid.uuid4().hex}",
        ).pk
        for i in range(count)
    ]
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(PARKED)
    started = time.perf_counter()
    for pk in ids:
        app.send_task("payouts.submit", args=(pk,))
    wait_for(
        lambda: Payout.objects.filter(pk__in=ids, ledger_status="paid").count(),
        count,
        "payouts",
    )
    return time.perf_counter() - started, ids


# --- exactly once ------------------------------------------------------------------------------
def check(
    receipts: int, webhooks: int, payout_ids: list[int], receiver, smtp, db_name: str
) -> list[str]:
    """Every effect once; returns the lines to print (raises on a duplicate or a loss)."""
    from django.db.models import Count

    from ledger.models import Entry
    from payments.hooks.models import Attempt, Delivery, Event
    from payments.payouts.models import Payout, PayoutEvent
    from payments.processors.sandbox import models as sandbox_models
    from payments.wallets.models import Receipt

    problems = []
    # Receipts: one Receipt row per key (UNIQUE), one e-mail per receipt, nothing left.
    mails = {s: n for s, n in smtp.received().items() if s.startswith("bench ")}
    recorded = Receipt.objects.filter(key__startswith="bench:").count()
    if recorded != receipts or len(mails) != receipts:
        problems.append(f"receipts: {recorded} recorded, {len(mails)} e-mailed of {receipts}")
    if twice := [s for s, n in mails.items() if n > 1]:
        problems.append(f"receipts: {len(twice)} e-mailed more than once")
    # Webhooks: each event received once, one delivery delivered after one attempt.
    received = receiver.received()
    events = set(Event.objects.values_list("public_id", flat=True))
    if set(received) != events or len(events) != webhooks:
        problems.append(f"webhooks: {len(received)} received of {len(events)} events")
    if twice := [e for e, n in received.items() if n > 1]:
        problems.append(f"webhooks: {len(twice)} events received more than once")
    per_event = Delivery.objects.values("event_id").annotate(n=Count("id")).filter(n__gt=1)
    if per_event.exists() or Delivery.objects.exclude(status="delivered").exists():
        problems.append("webhooks: an event with two deliveries, or one not delivered")
    if Attempt.objects.count() != webhooks:
        problems.append(f"webhooks: {Attempt.objects.count()} attempts for {webhooks}")
    # Payouts: one sandbox payout per payout id, paid once, booked once.
    remote = (
        sandbox_models.Payout.objects.filter(metadata__payout_id__in=[str(i) for i in payout_ids])
        .values("metadata__payout_id")
        .annotate(n=Count("id"))
    )
    if len(remote) != len(payout_ids) or any(r["n"] != 1 for r in remote):
        problems.append(f"payouts: {len(remote)} submitted of {len(payout_ids)}, or twice")
    paid = PayoutEvent.objects.filter(payout_id__in=payout_ids, to_status="paid").count()
    if paid != len(payout_ids):
        problems.append(f"payouts: {paid} paid events for {len(payout_ids)} payouts")
    if Payout.objects.filter(pk__in=payout_ids).exclude(ledger_status="paid").exists():
        problems.append("payouts: one not booked as paid")
    keys = [f"payout:{pk}:{what}" for pk in payout_ids for what in ("paid", "settle")]
    booked = Entry.objects.filter(idempotency_key__in=keys).count()
    if booked != len(keys):
        problems.append(f"payouts: {booked} ledger entries for {len(keys)} keys")
    verify = subprocess.run(
        [sys.executable, "manage.py", "ledger_verify"],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=database_url(db_name)),
        capture_output=True,
        text=True,
    )
    if verify.returncode != 0:
        problems.append(f"ledger_verify: {verify.stdout[-1000:]}{verify.stderr[-1000:]}")
    if problems:
        raise SystemExit("exactly once broken:\n  " + "\n  ".join(problems))
    return [
        f"exactly once: {receipts} receipts recorded and e-mailed once each; "
        f"{webhooks} webhook events received once each (one delivery, one attempt); "
        f"{len(payout_ids)} payouts submitted once, paid once, booked once; "
        "ledger_verify clean"
    ]


# --- the run -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--webhooks", type=int, default=1500)
    parser.add_argument("--endpoints", type=int, default=16, help="people, one endpoint each")
    parser.add_argument("--payouts", type=int, default=300)
    parser.add_argument("--netns", action="store_true", help="each worker in its own netns")
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    # Stopped (kill, or Ctrl-C of a run in the background): stop the workers, drop the
    # database and the namespaces on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    if args.smoke:
        args.workers, args.concurrency = [1, 2], 1
        args.receipts, args.webhooks, args.endpoints, args.payouts = 6, 6, 2, 3
    # A clone of the migrated template of the smoke runs, dropped at exit.
    db_name = smoke_database(BENCH_DB)

    with contextlib.ExitStack() as stack:
        smtp = stack.enter_context(SmtpSink())
        receiver = stack.enter_context(WebhookReceiver())
        setup_django(db_name, smtp)
        netns = None
        if args.netns:
            from netns import Namespaces

            ports = [receiver.port, smtp.port, *_service_ports()]
            netns = stack.enter_context(Namespaces(max(args.workers), ports))
        rounds = len(args.workers)
        people = make_people(args.endpoints, 100 * (args.payouts * rounds + 1))
        make_endpoints(people, receiver)
        env = worker_env(db_name, smtp)
        print(
            f"backlogs: {args.receipts} receipts, {args.webhooks} webhook events over "
            f"{args.endpoints} endpoints (20-50 ms each), {args.payouts} payouts; "
            f"{args.concurrency} pool processes per worker; CPUs: {os.cpu_count()}"
            + ("; each worker in its own network namespace" if netns else "")
        )
        rates: dict[int, dict[str, float]] = {}
        loads: dict[int, tuple[str, str]] = {}
        all_payouts: list[int] = []
        for n in args.workers:
            with Workers(n, args.concurrency, env, netns):
                before = loadavg()
                kicks = n * args.concurrency
                tag = f"n{n}"
                elapsed = {
                    "receipts": receipts_run(tag, people, args.receipts, kicks, smtp),
                    "webhooks": webhooks_run(tag, people, args.webhooks, kicks),
                }
                elapsed["payouts"], ids = payouts_run(people, args.payouts)
                all_payouts += ids
                loads[n] = (before, loadavg())
            sizes = {"receipts": args.receipts, "webhooks": args.webhooks, "payouts": args.payouts}
            rates[n] = {k: sizes[k] / elapsed[k] for k in KINDS}
            print(
                f"workers={n}: "
                + ", ".join(f"{k} {rates[n][k]:.1f}/s" for k in KINDS)
                + f" (load average {loads[n][0]} -> {loads[n][1]})",
                flush=True,
            )
        total = len(args.workers)
        lines = check(
            args.receipts * total,
            args.webhooks * total,
            all_payouts,
            receiver,
            smtp,
            db_name,
        )
    base = args.workers[0]
    print()
    plural = "s" if base > 1 else ""
    print(f"completed per second (ratio to {base} worker{plural}), CPUs: {os.cpu_count()}")
    print("| workers | " + " | ".join(KINDS) + " | load average (1, 5, 15 min) before -> after |")
    print("|---|" + "---|" * len(KINDS) + "---|")
    for n in args.workers:
        cells = [f"{rates[n][k]:.1f} ({rates[n][k] / rates[base][k]:.2f}x)" for k in KINDS]
        print(f"| {n} | " + " | ".join(cells) + f" | {loads[n][0]} -> {loads[n][1]} |")
    print()
    for line in lines:
        print(line)
    queues_drop()


def queues_drop() -> None:
    """Tasks left in the benchmark's queues (wake-ups, retries) belong to its database."""
    import redis

    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    keys = list(client.scan_iter(match=f"{QUEUE}*"))
    if keys:
        client.delete(*keys)


def _service_ports() -> list[int]:
    """The PostgreSQL and Redis ports the workers use (forwarded into a namespace)."""
    from urllib.parse import urlsplit

    return [
        urlsplit(database_url(BENCH_DB)).port or 5432,
        urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).port or 6379,
    ]


if __name__ == "__main__":
    main()
