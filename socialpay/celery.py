"""The Celery application. Configuration lives in Django settings under ``CELERY_*``."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")

app = Celery("socialpay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_context(task_id=None, task=None, **_):
    # Log lines from a task carry its id, as web log lines carry the request id.
    import structlog

    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))
