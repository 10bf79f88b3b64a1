"""JSON responses rendered by orjson: the same output as DRF's ``JSONRenderer`` (compact,
UTF-8, U+2028/U+2029 escaped) at a fraction of its CPU per response.

Every ``datetime`` is written by ``core.api.timestamps.rfc3339`` (UTC, ``Z``): orjson hands
them over (``OPT_PASSTHROUGH_DATETIME``) instead of writing the value's own offset. Types
orjson does not know (``Decimal``, lazy translation strings, anything else DRF's encoder
handles) are handed to DRF's ``JSONEncoder.default``, so every value DRF could render still
renders the same way. An indented answer (``Accept: application/json; indent=2``) is the
same JSON with two-space indents.
"""

from __future__ import annotations

import datetime as dt

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from core.api.timestamps import rfc3339

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_fallback = JSONEncoder().default


def _default(value):
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    return _fallback(value)


class OrjsonRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        options = _OPTIONS
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            options |= orjson.OPT_INDENT_2
        body = orjson.dumps(data, default=_default, option=options)
        # As DRF does: these two are valid JSON but end a line in JavaScript source.
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
