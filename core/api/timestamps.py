"""API timestamps: RFC 3339 in UTC with ``Z`` (``2026-12-01T09:30:00.123456Z``), whatever
time zone is active and however the value was built.

The renderer (``core.api.renderers``) formats every ``datetime`` in an answer with
``rfc3339``, and DRF's ``DATETIME_FORMAT`` is ``None`` so serializer fields hand it the
``datetime`` itself: one place decides the format for every answer. Code that has to put a
time into a string before rendering (error details, stored idempotent answers) calls
``rfc3339`` too. Dates (``2026-12-01``) stay dates.
"""

from __future__ import annotations

import datetime as dt


def rfc3339(value: dt.datetime) -> str:
    """Aware → UTC with ``Z``. A naive value is refused: its zone is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime in an API answer")
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
