"""A JSON parser that refuses what a lenient one lets through.

Duplicate keys (``{"amount": 1, "amount": 1000}``) are ambiguous: different systems keep
different copies, so we reject them. NaN and Infinity are not JSON. Numbers with a
fraction or exponent are parsed as ``Decimal`` so no float ever exists on the money path.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_BYTES = 64 * 1024


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ParseError(_("Duplicate key in JSON object: %(key)r.") % {"key": key})
        seen[key] = value
    return seen


def _reject_constant(name):
    raise ParseError(_("%(name)s is not valid JSON.") % {"name": name})


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_JSON_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_JSON_BYTES:
            raise ParseError(_("Request body is too large."))
        if not raw.strip():
            return {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(_("Request body is not valid UTF-8.")) from exc
        if "\x00" in text:
            raise ParseError(_("NUL characters are not allowed."))
        try:
            return json.loads(
                text,
                object_pairs_hook=_no_duplicates,
                parse_constant=_reject_constant,
                parse_float=Decimal,
            )
        except ValueError as exc:
            raise ParseError(_("JSON parse error: %(error)s") % {"error": exc}) from exc
