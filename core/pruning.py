"""Deleting what nobody needs any more (run nightly by Celery beat)."""

from __future__ import annotations

from importlib import import_module

import structlog
from django.conf import settings

log = structlog.get_logger(__name__)


def sessions_prune() -> None:
    """Delete expired sessions, as ``manage.py clearsessions`` does."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    log.info("sessions.pruned")


def auth_logs_prune() -> int:
    """Delete django-axes login records (successes and failures) older than
    ``AUTH_LOG_RETENTION_DAYS``; lock-outs themselves expire with ``AXES_COOLOFF_TIME``."""
    from axes.handlers.proxy import AxesProxyHandler

    age = settings.AUTH_LOG_RETENTION_DAYS
    removed = AxesProxyHandler.reset_logs(age_days=age)
    removed += AxesProxyHandler.reset_failure_logs(age_days=age)
    log.info("auth_logs.pruned", removed=removed, older_than_days=age)
    return removed
