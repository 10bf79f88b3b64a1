"""Whole numbers typed into pages: a quantity, a stock, a preset, a row id.

``str.isdigit()`` is not the test for this: it is true for "²" (which ``int()`` then
refuses with a ValueError, a server error) and for full-width digits, and ``int()`` itself
accepts " 1" and "+1". A count here is ASCII digits and nothing else — no sign, no
spaces, no decimal point, no exponent — and at most nine of them, so it always fits the
database's integer columns. The API takes counts as JSON integers instead
(``accounts.api_inputs.StrictIntegerField``).
"""

from __future__ import annotations

import re
from typing import Any

_COUNT = re.compile(r"[0-9]{1,9}")


def typed_count(text: Any) -> int | None:
    """The count in ``text``, or ``None`` when it is not one (the caller says why)."""
    if type(text) is not str or not _COUNT.fullmatch(text):
        return None
    return int(text)
