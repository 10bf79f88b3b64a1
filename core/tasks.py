import structlog
from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

log = structlog.get_logger(__name__)


@shared_task(name="core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Proves beat and a worker are alive: the last beat is visible to operators in Redis."""
    now = timezone.now().isoformat()
    cache.set("beat:last", now, timeout=3600)
    return now


@shared_task(name="core.tasks.ping")
def ping() -> str:
    return "pong"


@shared_task(name="core.tasks.idempotency_purge", ignore_result=True)
def idempotency_purge() -> int:
    from core.idempotency import idempotency_purge as purge

    return purge()
