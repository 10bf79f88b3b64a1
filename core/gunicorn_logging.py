"""gunicorn's access log as one JSON line per request, in the form of every other log line
(core.logging), with the request id (the response's ``X-Request-ID``) and the user id
(set in the WSGI environ by core.middleware.RequestIdMiddleware).

Used by deploy/gunicorn.conf.py (``logger_class``). The query string is left out: it can
carry tokens (a password-reset link, an e-mail confirmation key).
"""

from __future__ import annotations

import structlog
from gunicorn.glogging import Logger

from core.logging import USER_ID_ENVIRON_KEY

_access = structlog.get_logger("gunicorn.access")


class JsonAccessLogger(Logger):
    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": _status_code(resp),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": headers.get("x-request-id"),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT", "")[:200],
        }
        user_id = environ.get(USER_ID_ENVIRON_KEY)
        if user_id is not None:
            fields["user_id"] = user_id
        try:
            _access.info("http.access", **fields)
        except Exception:
            self.exception("access log line could not be written")


def _status_code(resp) -> int | None:
    status = getattr(resp, "status_code", None) or getattr(resp, "status", None)
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    try:
        return int(status)  # type: ignore[arg-type]  # a str or an int; anything else fails
    except (TypeError, ValueError):
        return None
