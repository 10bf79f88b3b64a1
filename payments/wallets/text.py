"""Cleaning of the short free texts that travel with money (notes)."""

from __future__ import annotations

import unicodedata

from payments.wallets.errors import InvalidNote
from payments.wallets.models import NOTE_MAX_LENGTH


def note_clean(value: object) -> str:
    """A note: at most 140 characters, no control characters; surrounding space trimmed.
    Rendered escaped everywhere, so markup in it stays inert."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidNote(details={"reason": "not_a_string"})
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > NOTE_MAX_LENGTH:
        raise InvalidNote(details={"reason": "too_long", "max_length": NOTE_MAX_LENGTH})
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidNote(details={"reason": "control_character"})
    return value
