"""What people type alongside money: a note (or a tip's message, a refund's reason) and who
may see the payment. Every money flow parses them here, so the rules are the same
everywhere.

Text follows the one cleaner of the project (``core.text.text_clean``: NFC, trimmed, no
control characters, a length limit); a payment note is one line of at most 140 characters
and keeps its own stable code, ``invalid_note``. A visibility outside the flow's choices is
refused with 400 ``invalid_choice``; it is never quietly replaced by another value.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.exceptions import InvalidChoice
from core.text import TextInvalid, TextTooLong, text_clean
from payments.wallets.errors import InvalidNote
from payments.wallets.models import NOTE_MAX_LENGTH


def note_clean(value: object) -> str:
    """A payment note: at most 140 characters on one line, no control characters;
    surrounding space trimmed. ``None`` is no note. Raises ``InvalidNote`` (400) with
    ``details.reason`` ``not_a_string``, ``control_character`` or ``too_long``."""
    if value is None:
        return ""
    try:
        return text_clean(
            value=value, max_length=NOTE_MAX_LENGTH, field="note", allow_newlines=False
        )
    except TextTooLong:
        raise InvalidNote(details={"reason": "too_long", "max_length": NOTE_MAX_LENGTH}) from None
    except TextInvalid as exc:
        raise InvalidNote(details={"reason": exc.details["reason"]}) from None


def visibility_parse(value: object, *, choices: Iterable[str], default: str) -> str:
    """Who may see a payment: one of ``choices``; ``None`` or ``""`` (not given) is
    ``default``. Anything else raises ``InvalidChoice`` (400 ``invalid_choice``)."""
    allowed = list(choices)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in allowed:
        raise InvalidChoice(details={"field": "visibility", "choices": allowed})
    return value
