"""Workers across hosts (core.celery_queues): with ``CELERY_SPLIT_QUEUES`` each kind of work
has its queue, and workers with host names of their own take only their queues.

Routing is checked with Celery's own router; then two real workers are started as
``worker0@scale-host-0`` (default + payouts) and ``worker1@scale-host-1`` (webhooks +
receipts) and each kind of task is seen to run on the worker of its queue, and only there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from core.celery_queues import task_routes, work_queues

ROOT = Path(__file__).resolve().parent.parent


def routed_queue(default: str, task: str) -> str:
    app = Celery(set_as_current=False)
    app.conf.task_default_queue = default
    app.conf.task_routes = task_routes(default)
    return app.amqp.router.route({}, task)["queue"].name


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        ("payouts.submit", "payouts"),
        ("payouts.sweep", "payouts"),
        ("sandbox.payout_settle", "payouts"),
        ("payments.webhook_event_process", "webhooks"),
        ("hooks.delivery_attempt", "webhooks"),
        ("sandbox.deliver_event", "webhooks"),
        ("payments.receipts_outbox_drain", "receipts"),
        ("ledger.tasks.balance_deltas_fold", None),
        ("creators.order_release", None),
        ("core.tasks.heartbeat", None),
    ],
)
def test_each_kind_of_work_has_its_queue(task, kind):
    expected = work_queues("q")[kind] if kind else "q"
    assert routed_queue("q", task) == expected


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_workers_with_their_own_hosts_take_only_their_queues(settings):
    from socialpay.celery import app

    default = settings.CELERY_TASK_DEFAULT_QUEUE
    queues = work_queues(default)
    plans = {
        f"worker0@scale-host-0-{default}": [default, queues["payouts"]],
        f"worker1@scale-host-1-{default}": [queues["webhooks"], queues["receipts"]],
    }
    env = dict(os.environ, CELERY_SPLIT_QUEUES="true")
    env["DATABASE_URL"] = _database_url(settings.DATABASES["default"])
    # Earlier tests in this process woke the receipts worker after their commits, onto the
    # default queue (the suite does not split queues) with no worker to take them: those
    # wake-ups would be the first thing worker0 runs.
    with app.connection_for_write() as conn:
        for queue in [default, *queues.values()]:
            conn.default_channel.queue_purge(queue)
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "socialpay",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "-n",
                name,
                "-Q",
                ",".join(plan),
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, plan in plans.items()
    ]
    try:
        names = list(plans)
        deadline = time.monotonic() + 180
        while True:
            answered = {next(iter(r)) for r in app.control.ping(destination=names, timeout=1)}
            if answered == set(names):
                break
            assert time.monotonic() < deadline, f"workers did not answer: {answered}"
        active = app.control.inspect(destination=names, timeout=5).active_queues()
        assert {n: sorted(q["name"] for q in active[n]) for n in names} == {
            n: sorted(plan) for n, plan in plans.items()
        }

        kinds = {
            "payouts.sweep": names[0],
            "payments.receipts_outbox_drain": names[1],
            "hooks.events_dispatch": names[1],
        }
        for task in kinds:
            app.send_task(task, queue=routed_queue(default, task))
        # These tasks keep no result: wait until the workers count them as done.
        deadline = time.monotonic() + 120
        while True:
            stats = app.control.inspect(destination=names, timeout=5).stats() or {}
            done = {t for n in names for t in stats.get(n, {}).get("total", {})}
            if done >= set(kinds):
                break
            assert time.monotonic() < deadline, f"tasks not run: {set(kinds) - done}"
            time.sleep(0.5)
        for task, worker in kinds.items():
            # At least once: a worker that connects also asks for the outbox drains
            # (CELERY_ON_CONNECT_TASKS), and those are routed by the same rules.
            assert stats[worker]["total"].get(task, 0) >= 1, (task, stats[worker]["total"])
            other = next(n for n in names if n != worker)
            assert task not in stats[other]["total"], (task, stats[other]["total"])
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _database_url(db: dict) -> str:
    from urllib.parse import quote

    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db.get('USER') or ''}@{host}{port}/{db['NAME']}"
