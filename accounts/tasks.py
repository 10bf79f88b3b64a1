"""Celery tasks of accounts: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(name="accounts.export_build", bind=True, ignore_result=True, max_retries=5)
def export_build_task(self, export_id: int, page_url: str = "") -> str | None:
    from accounts.exports import export_build

    try:
        export = export_build(export_id=export_id, page_url=page_url)
    except (OperationalError, InterfaceError) as exc:
        # The database went away before the export was claimed: the row is still queued
        # and the service builds a queued export once, so simply run it again.
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    return export.status if export else None


@shared_task(name="accounts.exports_prune", ignore_result=True)
def exports_prune_task() -> int:
    from accounts.exports import exports_prune

    return exports_prune()
