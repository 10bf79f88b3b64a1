"""Structured logging: structlog on top of the standard library.

One JSON object per line in production (``LOG_JSON``), from every process: the web
(Django and gunicorn's access log, ``core.gunicorn_logging``), Celery workers and beat
(Celery's own logging is switched off: ``socialpay.celery``). Every line carries the request
id bound by ``core.middleware.RequestIdMiddleware`` or, in a task, the task id; and the
signed-in person's ``user_id`` once authentication has run.

What must never be written: secrets and card data. ``redact`` masks the values of keys
that name a secret (passwords, tokens, keys, cookies, card numbers, CVCs) and anything that
looks like a card number (13 to 19 digits passing the Luhn check) wherever it appears, the
event text included.

Celery beat enqueues the receipts drain every second: lines about tasks that run more
often than once a minute (``quiet_tasks``) are demoted to DEBUG (``ChattyTaskFilter``), so
an idle system is quiet at INFO.
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import re
from typing import Any

import structlog

# The request being served by this thread (set by RequestIdMiddleware), for ``user_id``.
current_request: contextvars.ContextVar = contextvars.ContextVar("current_request", default=None)

# Where the access log (core.gunicorn_logging) finds the user id: the WSGI environ, which
# is request.META (set by RequestIdMiddleware).
USER_ID_ENVIRON_KEY = "socialpay.user_id"

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"password|passwd|passphrase|^pass$|secret|token|api[_-]?key|authori[sz]ation|cookie|session_?id"
    r"|csrf|card_?number|^pan$|^cvc$|^cvv$|^cvc2$|otp|totp|recovery_code|private_key|dsn",
    re.IGNORECASE,
)
# 13 to 19 digits, optionally grouped by spaces or dashes, as card numbers are written.
_CARD_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_MAX_DEPTH = 4


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_cards(text: str) -> str:
    def replace(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group())
        return "[card number redacted]" if _luhn_ok(digits) else match.group()

    return _CARD_CANDIDATE.sub(replace, text)


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _mask_cards(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else _clean(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v, depth + 1) for v in value]
    return value


def redact(_logger, _method: str, event_dict: dict) -> dict:
    """structlog processor: no secret or card number leaves the process in a log line."""
    return _clean(event_dict)


def add_user_id(_logger, _method: str, event_dict: dict) -> dict:
    """structlog processor: the signed-in person's id, once authentication has run (this
    never triggers a session or token lookup of its own)."""
    if "user_id" not in event_dict:
        user_id = request_user_id(current_request.get())
        if user_id is not None:
            event_dict["user_id"] = user_id
    return event_dict


def request_user_id(request) -> int | None:
    """The authenticated user's id if the request already knows who it is, else None."""
    if request is None:
        return None
    from django.utils.functional import empty

    user = request.__dict__.get("user")
    # AuthenticationMiddleware sets a lazy object that loads the user on first use; DRF
    # replaces it with the user it authenticated.
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:
        return None
    if getattr(wrapped, "is_authenticated", False):
        return wrapped.pk
    return None


def quiet_tasks() -> frozenset[str]:
    """Tasks that beat schedules more often than once a minute."""
    from datetime import timedelta

    from django.conf import settings

    return frozenset(
        entry["task"]
        for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values()
        if isinstance(entry.get("schedule"), timedelta) and entry["schedule"] < timedelta(minutes=1)
    )


class ChattyTaskFilter(logging.Filter):
    """Demotes Celery's per-task lines (beat's "Sending due task", the worker's "received"
    and "succeeded") to DEBUG for ``quiet_tasks``; drops them unless DEBUG is logged."""

    _LOGGERS = frozenset({"celery.beat", "celery.app.trace", "celery.worker.strategy"})

    def __init__(self) -> None:
        super().__init__()
        self._quiet: frozenset[str] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name not in self._LOGGERS or record.levelno != logging.INFO:
            return True
        if self._quiet is None:
            try:
                self._quiet = quiet_tasks()
            except Exception:  # settings not configured: nothing is quiet
                self._quiet = frozenset()
        args = record.args
        if isinstance(args, dict):
            task = args.get("name")
        elif isinstance(args, tuple) and len(args) >= 2:
            task = args[1]  # beat: (entry name, task name)
        else:
            task = None
        if task not in self._quiet:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        add_user_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def logging_config(*, level: str, json: bool) -> dict:
    """The ``logging.config.dictConfig`` of every process (gunicorn's included)."""
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"chatty_tasks": {"()": ChattyTaskFilter}},
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    redact,
                    renderer,
                ],
                "foreign_pre_chain": _shared_processors(),
            }
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "filters": ["chatty_tasks"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "celery": {"level": level},
            "axes": {"level": "WARNING"},
            # gunicorn's loggers go through the same handler (see core.gunicorn_logging).
            "gunicorn.error": {"handlers": [], "propagate": True, "level": level},
            "gunicorn.access": {"handlers": [], "propagate": True, "level": "INFO"},
        },
    }


def configure_logging(*, level: str, json: bool) -> None:
    logging.config.dictConfig(logging_config(level=level, json=json))
    # Python's warnings (a library's deprecation, Celery's "running as root") become log
    # lines too, instead of free text on stderr.
    logging.captureWarnings(True)
    structlog.configure(
        # A call below the level is dropped before the processors run (time stamp, context
        # merge), not after: most request-path log calls are below it in production.
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
