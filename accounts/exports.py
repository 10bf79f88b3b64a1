"""A person's copy of everything about them: a ZIP of JSON and CSV files with a README.

The request (``export_request``) writes a ``DataExport`` row and, after commit, queues
``accounts.export_build``; the task (``export_build``) collects the sections, writes the
ZIP into Django's default storage (the file system in development, the S3-compatible store
in production), marks the row ready and e-mails the person. The ZIP is served only to its
owner (``export_for_download``) and deleted once ``EXPORT_RETENTION_DAYS`` pass
(``exports_prune``, on the beat schedule).

Sections come from a registry: accounts sits below posts and the payments apps, so each
of them registers what it holds about a person from its ``AppConfig.ready``
(``export_section_register``), and this module never imports them. A section returns
``ExportFile``s: rows of flat, JSON-ready values (amounts in minor units beside their
currency), written as ``<name>.json`` and, for tables, ``<name>.csv``.

Limits: one export queued or building per person (a partial UNIQUE index), and at most
``EXPORT_DAILY_LIMIT`` requests a day; a section may return at most ``ROWS_MAX`` rows per
file; the ZIP is spooled to a temporary file, not held in memory.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    AccountAuditEvent,
    ApiToken,
    Block,
    DataExport,
    Follow,
    Mute,
    Notification,
    User,
)
from core.exceptions import Conflict, DomainError, NotFound

log = structlog.get_logger(__name__)

#: Rows one file may hold; a section that has more says so in its description.
ROWS_MAX = 100_000
#: Requests a person may make in 24 hours (finished ones included).
EXPORT_DAILY_LIMIT = 5
#: An export queued or building for longer than this is taken as lost (a dead worker).
EXPORT_STALE_AFTER = timedelta(hours=1)


class ExportAlreadyRunning(Conflict):
    code = "export_already_running"
    default_message = _("An export of your data is already being prepared. Wait for it.")


class ExportLimitReached(DomainError):
    code = "export_limit_reached"
    status = 429
    default_message = _("You asked for too many exports today. Try again tomorrow.")


class ExportNotFound(NotFound):
    code = "export_not_found"
    default_message = _("No such export.")


class ExportNotReady(Conflict):
    code = "export_not_ready"
    default_message = _("This export is not ready to download.")


class ExportExpired(DomainError):
    code = "export_expired"
    status = 410
    default_message = _("This export has expired. Ask for a new one.")


# --- the registry -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExportFile:
    """One file of the ZIP: ``name`` without extension (``payments/transfers``)."""

    name: str
    description: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    table: bool = True  # also written as CSV


ExportSection = Callable[..., Iterable[ExportFile]]  # (*, user) -> files

_SECTIONS: dict[str, ExportSection] = {}


def export_section_register(key: str, section: ExportSection) -> None:
    """Add (or replace, by ``key``) a section; called from ``AppConfig.ready``."""
    _SECTIONS[key] = section


def export_sections() -> dict[str, ExportSection]:
    return dict(_SECTIONS)


def rows_of(queryset, *, fields: Iterable[str]) -> list[dict[str, Any]]:
    """``values()`` of at most ``ROWS_MAX`` rows, oldest first, for a section."""
    return list(queryset.order_by("pk").values(*fields)[:ROWS_MAX])


# --- requests -----------------------------------------------------------------------------------
def export_request(*, user: User, page_url: str = "") -> DataExport:
    """Queue an export of everything about ``user``; ``page_url`` (absolute) goes into the
    e-mail sent when it is ready.

    Raises ``ExportAlreadyRunning`` while another is queued or building (the database's
    partial UNIQUE index decides a race), ``ExportLimitReached`` after
    ``EXPORT_DAILY_LIMIT`` requests in 24 hours. Nothing is written when it raises.
    """
    from accounts.tasks import export_build_task

    since = timezone.now() - timedelta(days=1)
    if DataExport.objects.filter(user=user, created_at__gte=since).count() >= EXPORT_DAILY_LIMIT:
        raise ExportLimitReached()
    try:
        with transaction.atomic():
            export = DataExport.objects.create(user=user)
            AccountAuditEvent.objects.create(
                user=user, actor=user, action="data_export_requested", reason=f"#{export.pk}"
            )
            transaction.on_commit(lambda: export_build_task.delay(export.pk, page_url))
    except IntegrityError:
        raise ExportAlreadyRunning() from None
    return export


def export_get(*, user: User, export_id: int) -> DataExport:
    """One of ``user``'s exports. Raises ``ExportNotFound`` for anyone else's."""
    export = DataExport.objects.filter(pk=export_id, user=user).first()
    if export is None:
        raise ExportNotFound()
    return export


def export_list(*, user: User, limit: int = 10) -> list[DataExport]:
    return list(DataExport.objects.filter(user=user).order_by("-id")[:limit])


def export_for_download(*, user: User, export_id: int) -> DataExport:
    """The export to send to its owner. Raises ``ExportNotFound`` (someone else's or
    pruned), ``ExportNotReady``, ``ExportExpired``."""
    export = export_get(user=user, export_id=export_id)
    if export.status != DataExport.Status.READY:
        raise ExportNotReady()
    if export.expires_at is None or export.expires_at <= timezone.now():
        raise ExportExpired()
    return export


def export_download_name(export: DataExport) -> str:
    return f"socialpay-data-{export.created_at:%Y-%m-%d}-{export.pk}.zip"


# --- building ---------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _csv_cell(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else value


def _write_file(archive: zipfile.ZipFile, item: ExportFile) -> None:
    rows = [{k: _plain(v) for k, v in row.items()} for row in item.rows[:ROWS_MAX]]
    archive.writestr(
        f"{item.name}.json",
        json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n",
    )
    if not item.table:
        return
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
    archive.writestr(f"{item.name}.csv", out.getvalue())


def _readme(*, user: User, files: list[ExportFile], created: datetime) -> str:
    lines = [
        gettext("Your SocialPay data"),
        "",
        gettext("Account @%(handle)s, exported %(when)s (UTC).")
        % {"handle": user.handle, "when": created.strftime("%Y-%m-%d %H:%M")},
        "",
        gettext(
            "Each file comes as JSON (for programs) and, when it is a table, as CSV (for "
            "spreadsheets). Amounts are whole numbers in the currency's smallest unit (cents): "
            "1250 with currency EUR is 12.50 EUR. Times are in UTC (ISO 8601)."
        ),
        "",
        gettext("Files:"),
        "",
    ]
    for item in files:
        kinds = ".json, .csv" if item.table else ".json"
        lines.append(f"{item.name} ({kinds}, {len(item.rows)})")
        lines.append(f"    {item.description}")
    lines.append("")
    return "\n".join(lines)


def _progress(export_id: int, percent: int) -> None:
    DataExport.objects.filter(pk=export_id).update(progress=max(0, min(percent, 99)))


def export_build(*, export_id: int, page_url: str = "") -> DataExport | None:
    """Build a queued export: the ZIP into the default storage, the row ``ready``, an
    e-mail to the person. Idempotent: an export that is not ``queued`` is left alone (a
    task delivered twice builds once). Any failure marks it ``failed`` and is logged.

    Locks the export row while claiming it (no lock is held while the files are built).
    Returns the export, or None when there was nothing to do.
    """
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update()
            .select_related("user")
            .filter(pk=export_id, status=DataExport.Status.QUEUED)
            .first()
        )
        if export is None:
            return None
        export.status = DataExport.Status.BUILDING
        export.started_at = timezone.now()
        export.save(update_fields=["status", "started_at"])
    user = export.user
    try:
        with translation.override(user.language or settings.LANGUAGE_CODE):
            name, size = _build_zip(export=export, user=user)
    except Exception as exc:
        log.exception("accounts.export_failed", export_id=export.pk)
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED,
            failure=type(exc).__name__[:200],
            finished_at=timezone.now(),
        )
        export.refresh_from_db()
        return export
    now = timezone.now()
    with transaction.atomic():
        # The account may have closed while the files were built: nothing is kept then.
        if not User.objects.filter(pk=user.pk, closed_at__isnull=True).exists():
            default_storage.delete(name)
            DataExport.objects.filter(pk=export.pk).delete()
            return None
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.READY,
            progress=100,
            file_name=name,
            size=size,
            finished_at=now,
            expires_at=now + timedelta(days=settings.EXPORT_RETENTION_DAYS),
        )
        AccountAuditEvent.objects.create(
            user=user, actor=None, action="data_export_ready", reason=f"#{export.pk} ({size} B)"
        )
        if user.email and page_url:
            transaction.on_commit(lambda: _mail_ready(user=user, page_url=page_url))
    export.refresh_from_db()
    log.info("accounts.export_ready", export_id=export.pk, size=size)
    return export


def _build_zip(*, export: DataExport, user: User) -> tuple[str, int]:
    sections = list(_SECTIONS.items())
    files: list[ExportFile] = []
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for done, (_key, section) in enumerate(sections, start=1):
                for item in section(user=user):
                    _write_file(archive, item)
                    files.append(item)
                _progress(export.pk, done * 100 // (len(sections) + 1))
            archive.writestr("README.txt", _readme(user=user, files=files, created=timezone.now()))
        size = spool.tell()
        spool.seek(0)
        # A random name: the storage may be a shared bucket, and a guessable key is a leak.
        name = default_storage.save(
            f"exports/{user.pk}/{secrets.token_urlsafe(24)}.zip", File(spool)
        )
    return name, size


def _mail_ready(*, user: User, page_url: str) -> None:
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = gettext("Your SocialPay data is ready")
        body = gettext(
            "Hello @%(handle)s,\n\nthe copy of your data you asked for is ready. Sign in and "
            "download it here within %(days)d days:\n\n%(url)s\n\nIf you did not ask for it, "
            "change your password."
        ) % {"handle": user.handle, "days": settings.EXPORT_RETENTION_DAYS, "url": page_url}
    send_mail(subject, body, None, [user.email], fail_silently=False)


# --- pruning ------------------------------------------------------------------------------------
def exports_prune(*, now: datetime | None = None) -> int:
    """Delete expired exports (file, then row) and fail the ones a dead worker left queued
    or building. Returns how many were deleted."""
    now = now or timezone.now()
    DataExport.objects.filter(
        status__in=[DataExport.Status.QUEUED, DataExport.Status.BUILDING],
        created_at__lt=now - EXPORT_STALE_AFTER,
    ).update(status=DataExport.Status.FAILED, failure="stale", finished_at=now)
    expired = DataExport.objects.filter(expires_at__lte=now) | DataExport.objects.filter(
        status=DataExport.Status.FAILED,
        created_at__lt=now - timedelta(days=settings.EXPORT_RETENTION_DAYS),
    )
    removed = 0
    for export in expired[:1000]:
        if export.file_name:
            default_storage.delete(export.file_name)
        export.delete()
        removed += 1
    log.info("accounts.exports_pruned", removed=removed)
    return removed


def exports_delete_for_user(*, user: User) -> None:
    """Every export of ``user`` and its file (closing the account)."""
    for export in DataExport.objects.filter(user=user):
        if export.file_name:
            default_storage.delete(export.file_name)
        export.delete()


# --- what accounts itself holds ------------------------------------------------------------
def _profile_section(*, user: User) -> list[ExportFile]:
    profile = {
        "id": user.pk,
        "handle": user.handle,
        "email": user.email,
        "display_name": user.display_name,
        "bio": user.bio,
        "link": user.link,
        "avatar": user.avatar.name if user.avatar else "",
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "language": user.language,
        "home_currency": user.home_currency,
        "payment_visibility_default": user.payment_visibility_default,
        "verification_tier": user.verification_tier,
        "search_indexing": user.search_indexing,
    }
    tokens = rows_of(
        ApiToken.objects.filter(user=user),
        fields=["id", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at"],
    )
    audit = rows_of(
        AccountAuditEvent.objects.filter(user=user),
        fields=["id", "action", "created_at"],
    )
    return [
        ExportFile("profile", str(_("Your profile and settings.")), [profile], table=False),
        ExportFile("api_tokens", str(_("Your API tokens (never their secrets).")), tokens),
        ExportFile("account_events", str(_("Security events on your account.")), audit),
    ]


def _graph_section(*, user: User) -> list[ExportFile]:
    def edges(model, mine: str, other: str) -> list[dict[str, Any]]:
        return [
            {"handle": handle, "since": since}
            for handle, since in model.objects.filter(**{mine: user})
            .order_by("pk")
            .values_list(f"{other}__handle", "created_at")[:ROWS_MAX]
        ]

    return [
        ExportFile(
            "following", str(_("People you follow.")), edges(Follow, "follower", "followee")
        ),
        ExportFile(
            "followers", str(_("People who follow you.")), edges(Follow, "followee", "follower")
        ),
        ExportFile("blocked", str(_("People you blocked.")), edges(Block, "blocker", "blocked")),
        ExportFile("muted", str(_("People you muted.")), edges(Mute, "muter", "muted")),
    ]


def _notifications_section(*, user: User) -> list[ExportFile]:
    rows = rows_of(
        Notification.objects.filter(recipient=user),
        fields=[
            "id",
            "kind",
            "actor__handle",
            "target_type",
            "target_id",
            "data",
            "created_at",
            "read_at",
        ],
    )
    for row in rows:
        row["actor"] = row.pop("actor__handle")
    return [ExportFile("notifications", str(_("Your notifications.")), rows)]


export_section_register("profile", _profile_section)
export_section_register("graph", _graph_section)
export_section_register("notifications", _notifications_section)
