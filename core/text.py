"""The one cleaner for short free text people type: profile fields, posts, payment notes,
tip messages, refund reasons, product and tier names.

One rule set, so that a text accepted in one place is accepted everywhere with the same
meaning:

1. it must be a string (anything else is ``TextInvalid``);
2. Unicode NFC: "é" typed as one code point or as "e" + combining accent is the same
   text, stored and counted once;
3. Windows line ends become ``\\n``; surrounding white space is trimmed;
4. no control characters (Unicode category ``Cc``: NUL, C0, DEL and C1), except ``\\n``
   where the field allows several lines;
5. at most ``max_length`` characters, counted after 2 and 3.

Rendering escapes everything, so markup in a text stays inert; this is about what can be
stored and shown, not about HTML.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext_lazy as _

from core.exceptions import ValidationFailed


class TextInvalid(ValidationFailed):
    code = "text_invalid"
    default_message = _("Text contains characters that are not allowed.")


class TextTooLong(ValidationFailed):
    code = "text_too_long"
    default_message = _("Text is too long.")


def text_clean(*, value: object, max_length: int, field: str, allow_newlines: bool = True) -> str:
    """Apply the rules above. Raises ``TextInvalid`` (``details``: field, reason
    ``not_a_string`` or ``control_character``) or ``TextTooLong`` (field, max_length)."""
    if not isinstance(value, str):
        raise TextInvalid(details={"field": field, "reason": "not_a_string"})
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    if any(
        unicodedata.category(ch) == "Cc" and not (allow_newlines and ch == "\n") for ch in value
    ):
        raise TextInvalid(details={"field": field, "reason": "control_character"})
    if len(value) > max_length:
        raise TextTooLong(
            _("%(field)s is at most %(max_length)d characters.")
            % {"field": field, "max_length": max_length},
            details={"field": field, "max_length": max_length},
        )
    return value
