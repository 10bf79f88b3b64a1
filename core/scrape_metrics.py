"""Figures read when Prometheus scrapes ``/metrics`` (core.metrics): the broker's queues,
beat's heartbeats and the last run of each nightly check."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from core.metrics import age_seconds

NIGHTLY_CHECKS = ("ledger_verify", "reconciliation")


def broker_queues() -> Iterable[Metric]:
    """Tasks waiting in each queue, and tasks taken by a worker but not yet acknowledged
    (kombu's ``unacked`` hash on Redis)."""
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    if settings.PAYOUTS_QUEUE:
        queues.add(settings.PAYOUTS_QUEUE)
    queues.update(settings.CELERY_WORK_QUEUES.values())
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
    )
    try:
        pipe = client.pipeline(transaction=False)
        for queue in sorted(queues):
            pipe.llen(queue)
        pipe.hlen("unacked")
        *lengths, unacked = pipe.execute()
    finally:
        client.close()
    depth = GaugeMetricFamily(
        "socialpay_celery_queue_length", "Tasks waiting in a broker queue", labels=["queue"]
    )
    for queue, length in zip(sorted(queues), lengths, strict=True):
        depth.add_metric([queue], length)
    yield depth
    yield GaugeMetricFamily(
        "socialpay_celery_unacked_tasks",
        "Tasks delivered to a worker and not yet acknowledged (running or reserved)",
        value=unacked,
    )


def heartbeats() -> Iterable[Metric]:
    """Seconds since beat last ticked (``beat:last``) and since a worker last ran beat's
    heartbeat task (``heartbeat:last``); absent when never written or unreadable."""
    now = timezone.now()
    family = GaugeMetricFamily(
        "socialpay_heartbeat_age_seconds",
        "Seconds since beat ticked (beat) and since a worker ran beat's heartbeat task (worker)",
        labels=["source"],
    )
    for source, key in (("beat", "beat:last"), ("worker", "heartbeat:last")):
        value = cache.get(key)
        try:
            family.add_metric([source], age_seconds(datetime.fromisoformat(value), now))
        except (TypeError, ValueError):
            continue
    yield family


def nightly_checks() -> Iterable[Metric]:
    """The last run of each nightly check (core.nightly): its result, its findings and
    when it finished. A check that never ran has no samples (alert on absence)."""
    from core.models import NightlyCheck

    ok = GaugeMetricFamily(
        "socialpay_nightly_check_ok", "1 when the last run found nothing", labels=["check"]
    )
    findings = GaugeMetricFamily(
        "socialpay_nightly_check_findings", "Findings of the last run", labels=["check"]
    )
    finished = GaugeMetricFamily(
        "socialpay_nightly_check_last_run_timestamp_seconds",
        "When the last run finished (Unix time)",
        labels=["check"],
    )
    for name in NIGHTLY_CHECKS:
        last = NightlyCheck.objects.filter(name=name).order_by("-finished_at").first()
        if last is None:
            continue
        ok.add_metric([name], 1 if last.ok else 0)
        findings.add_metric([name], last.findings)
        finished.add_metric([name], last.finished_at.timestamp())
    yield from (ok, findings, finished)
