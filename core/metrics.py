"""Prometheus metrics: what every process counts, and what is read at scrape time.

Counters and histograms live in the process that observes the event (a gunicorn worker, a
Celery pool process). Under gunicorn or the prefork pool there are many such processes, so
with ``PROMETHEUS_MULTIPROC_DIR`` set (it must be set before ``prometheus_client`` is first
imported: deploy/gunicorn.conf.py and the worker's environment do that) each process writes
its values to files there and the exporter sums them (``registry()``).

Figures that are a state of the database or the broker (queue depth, outbox lag, payouts
by status, the last nightly checks) are not counted by anyone: each app registers a
*scrape collector* (``collector_register``) that reads them when Prometheus asks, through
the web's ``/metrics`` only, so that they are reported once however many processes run.

prometheus-client directly rather than django-prometheus: the latter caps Django below 6.1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

# Latency buckets (seconds) for web requests and tasks: the page budget is 100 ms at p95.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

HTTP_REQUESTS = Counter(
    "socialpay_http_requests",
    "HTTP requests answered, by view (URL name), method and status code",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "socialpay_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by view",
    ["view", "method"],
    buckets=_BUCKETS,
)
TASKS = Counter(
    "socialpay_celery_tasks",
    "Celery tasks finished, by task name and outcome (succeeded, failed, retried)",
    ["task", "outcome"],
)
TASK_LATENCY = Histogram(
    "socialpay_celery_task_duration_seconds",
    "Run time of Celery tasks, by task name",
    ["task"],
    buckets=_BUCKETS,
)
LEDGER_ENTRIES = Counter(
    "socialpay_ledger_entries",
    "Journal entries committed, by entry code",
    ["code"],
)
DEGRADED = Counter(
    "socialpay_degraded_operations",
    "Operations that went on without a dependency, by component (cache, ratelimit, "
    "broker) and dependency",
    ["component", "dependency"],
)
REPLICA_REQUESTS = Counter(
    "socialpay_db_replica_requests",
    "Requests to views that may read a replica, by outcome: replica_scope (their "
    "replica-eligible reads may go to a replica) or recent_write (the person wrote a moment "
    "ago, so the primary); core.db_router",
    ["outcome"],
)
DATABASE_UNAVAILABLE = Counter(
    "socialpay_database_unavailable_responses",
    "Requests answered 503 because PostgreSQL could not be reached",
)

ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: dict[str, ScrapeCollector] = {}


def collector_register(name: str, collect: ScrapeCollector) -> None:
    """Add a function that yields metric families read at scrape time (apps call this in
    ``AppConfig.ready``; registering a name again replaces it)."""
    _scrape_collectors[name] = collect


class _ScrapeCollectors(Collector):
    """Runs every registered scrape collector; one that fails is reported, not fatal."""

    def collect(self) -> Iterable[Metric]:
        errors = GaugeMetricFamily(
            "socialpay_scrape_collector_ok",
            "1 when the collector read its figures at this scrape, 0 when it failed",
            labels=["collector"],
        )
        for name, collect in sorted(_scrape_collectors.items()):
            started = time.monotonic()
            try:
                families = list(collect())
            except Exception:
                log.warning("metrics.collector_failed", collector=name, exc_info=True)
                errors.add_metric([name], 0)
                continue
            errors.add_metric([name], 1)
            yield from families
            elapsed = time.monotonic() - started
            if elapsed > 1:
                log.warning("metrics.collector_slow", collector=name, seconds=round(elapsed, 2))
        yield errors


class _ThisProcess(Collector):
    """The default registry of this process (no multiprocess directory: development)."""

    def collect(self) -> Iterable[Metric]:
        from prometheus_client import REGISTRY

        yield from REGISTRY.collect()


def registry(*, scrape: bool) -> CollectorRegistry:
    """A registry for one exposition: the process counters (summed over every process of
    this server when ``PROMETHEUS_MULTIPROC_DIR`` is set) and, with ``scrape``, the figures
    read from the database and the broker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        reg.register(_ThisProcess())
    if scrape:
        reg.register(_ScrapeCollectors())
    return reg


def age_seconds(oldest, now) -> float:
    """Seconds since ``oldest`` (0 when there is nothing waiting)."""
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
