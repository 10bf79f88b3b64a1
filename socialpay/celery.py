"""The Celery application. Configuration lives in Django settings under ``CELERY_*``.

Also: Celery's own logging is replaced by ours (JSON lines, core.logging), every task is
counted and timed for Prometheus (core.metrics), and a worker serves those metrics on
``CELERY_METRICS_PORT`` when it is set.
"""

import os
import time

from celery import Celery, bootsteps
from celery.signals import (
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")

app = Celery("socialpay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class DrainOutboxesOnConnect(bootsteps.StartStopStep):
    """Each time a worker's consumer (re)connects to the broker, ask for the outbox drains
    (``CELERY_ON_CONNECT_TASKS``).

    Why: a Redis broker that restarts comes back empty, without kombu's queue bindings, and
    until a worker re-declares its queue every task published to it is routed nowhere. The
    wake-ups web processes sent in that window are lost, so the receipts and webhook events
    they were for would wait for beat. This step runs after the consumer has declared its
    queues, so the drain it publishes arrives, and it covers every row committed before.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c):
        from django.conf import settings

        for name in settings.CELERY_ON_CONNECT_TASKS:
            try:
                c.app.send_task(name)
            except Exception:  # the broker went again: the next reconnect asks again
                import structlog

                structlog.get_logger(__name__).warning("worker.connect_task_failed", task=name)


app.steps["consumer"].add(DrainOutboxesOnConnect)


@setup_logging.connect
def _use_our_logging(**_):
    # A receiver here stops Celery from configuring logging itself; loading the settings
    # runs core.logging.configure_logging, so worker and beat log as the web does.
    from django.conf import settings

    settings.LOG_LEVEL  # noqa: B018  (loads the settings, which configure logging)


_started: dict[str, float] = {}


@task_prerun.connect
def _bind_task_context(task_id=None, task=None, **_):
    # Log lines from a task carry its id, as web log lines carry the request id.
    import structlog

    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))
    if task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _count_task(task_id=None, task=None, state=None, **_):
    from core.metrics import TASK_LATENCY, TASKS

    name = getattr(task, "name", "unknown")
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_LATENCY.labels(task=name).observe(time.monotonic() - started)
    if state == "SUCCESS":
        TASKS.labels(task=name, outcome="succeeded").inc()


@task_failure.connect
def _count_failure(sender=None, **_):
    from core.metrics import TASKS

    TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="failed").inc()


@task_retry.connect
def _count_retry(sender=None, **_):
    from core.metrics import TASKS

    TASKS.labels(task=getattr(sender, "name", "unknown"), outcome="retried").inc()


@worker_init.connect
def _serve_metrics(**_):
    """In the worker's main process: serve the task metrics of every pool process."""
    from django.conf import settings

    if not settings.CELERY_METRICS_PORT:
        return
    from prometheus_client import start_http_server

    from core.metrics import registry

    start_http_server(settings.CELERY_METRICS_PORT, registry=registry(scrape=False))


@worker_process_shutdown.connect
def _forget_pool_process(pid=None, **_):
    # A pool process that exits leaves its files; its live gauges must stop counting.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and pid:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
