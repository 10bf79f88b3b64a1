import structlog
from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

log = structlog.get_logger(__name__)


@shared_task(name="core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Proves the whole chain beat -> broker -> worker: a worker ran what beat scheduled.
    (Beat's own liveness is ``beat:last``, written by beat itself: core.beat.)"""
    now = timezone.now().isoformat()
    cache.set("heartbeat:last", now, timeout=3600)
    return now


@shared_task(name="core.tasks.ping")
def ping() -> str:
    return "pong"


@shared_task(name="core.tasks.idempotency_purge", ignore_result=True)
def idempotency_purge() -> int:
    from core.idempotency import idempotency_purge as purge

    return purge()


@shared_task(name="core.tasks.sessions_clear_expired", ignore_result=True)
def sessions_clear_expired() -> int:
    """Nightly pruning of what Django and django-axes keep forever unless told: expired
    sessions, and login records older than ``AUTH_LOG_RETENTION_DAYS``."""
    from core.pruning import auth_logs_prune, sessions_prune

    sessions_prune()
    return auth_logs_prune()
