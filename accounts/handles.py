"""Handle rules: what a handle may look like, the key that makes it unique, and the
skeleton that makes look-alikes collide.

People pay each other by @handle, so a handle that *looks* like someone else's is a way to
steal money. Three derived strings protect against that:

- ``handle_key``: Unicode NFKC normalisation followed by case folding, so ``Alice``,
  ``ALICE`` and its full-width form (U+FF21...) are the same handle. After this step a
  handle must be ASCII ``[a-z0-9_]``, 3 to 30 characters; we store the key itself as the handle,
  so what people see is exactly what is unique.
- ``handle_skeleton``: the key with visually confusable characters folded together
  (``0``→``o``; ``1``, ``i``, ``l`` and ``I``→``l``; ``rn``→``m``; ``vv``→``w``;
  ``cl``→``d``). It has its own UNIQUE index, so ``a1ice`` cannot be registered while
  ``alice`` exists, whoever wins the race.
- Before rejecting non-ASCII input as invalid we map common Cyrillic and Greek homoglyphs
  to Latin, so that ``alice`` typed with a Cyrillic U+0430 is reported as *confusable*
  with ``alice`` (the honest reason) rather than merely invalid.

The table is deliberately small and written down here (a subset of Unicode TR39
``confusables.txt`` restricted to what can matter once the alphabet is ASCII). It is
conservative: it may refuse a handle that a person would not confuse, never the reverse.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, ValidationFailed

HANDLE_MIN_LENGTH = 3
HANDLE_MAX_LENGTH = 30
HANDLE_PATTERN = re.compile(r"^[a-z0-9_]+$")

# Names that would let someone impersonate the platform or collide with a URL. Compared by
# skeleton, so ``adm1n`` and ``supp0rt`` are reserved too.
RESERVED_HANDLES = frozenset(
    {
        "about", "account", "accounts", "admin", "administrator", "api", "app", "billing",
        "blog", "compliance", "contact", "dashboard", "developer", "developers", "docs",
        "everyone", "explore", "help", "here", "home", "info", "legal", "login", "logout",
        "mail", "me", "media", "moderator", "mod", "news", "noreply", "no_reply",
        "notifications", "null", "official", "owner", "password", "pay", "payment",
        "payments", "payout", "payouts", "postmaster", "privacy", "root", "search",
        "security", "settings", "signup", "socialpay", "socialpay_support", "staff",
        "static", "status", "support", "system", "team", "terms", "timeline", "undefined",
        "user", "users", "verify", "verified", "wallet", "wallets", "webhook", "webhooks",
        "webmaster", "www",
    }
)  # fmt: skip

# Cyrillic and Greek letters that render like ASCII letters (TR39 confusables subset).
# Written as escapes so that the source itself contains no look-alikes.
_HOMOGLYPHS = str.maketrans(
    {
        "\u0430": "a",  # CYRILLIC SMALL LETTER A
        "\u0432": "b",  # CYRILLIC SMALL LETTER VE
        "\u0441": "c",  # CYRILLIC SMALL LETTER ES
        "\u0501": "d",  # CYRILLIC SMALL LETTER KOMI DE
        "\u0435": "e",  # CYRILLIC SMALL LETTER IE
        "\u04bb": "h",  # CYRILLIC SMALL LETTER SHHA
        "\u0456": "i",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
        "\u0458": "j",  # CYRILLIC SMALL LETTER JE
        "\u043a": "k",  # CYRILLIC SMALL LETTER KA
        "\u043c": "m",  # CYRILLIC SMALL LETTER EM
        "\u043d": "h",  # CYRILLIC SMALL LETTER EN
        "\u043e": "o",  # CYRILLIC SMALL LETTER O
        "\u0440": "p",  # CYRILLIC SMALL LETTER ER
        "\u051b": "q",  # CYRILLIC SMALL LETTER QA
        "\u0455": "s",  # CYRILLIC SMALL LETTER DZE
        "\u0442": "t",  # CYRILLIC SMALL LETTER TE
        "\u0443": "y",  # CYRILLIC SMALL LETTER U
        "\u0475": "v",  # CYRILLIC SMALL LETTER IZHITSA
        "\u051d": "w",  # CYRILLIC SMALL LETTER WE
        "\u0445": "x",  # CYRILLIC SMALL LETTER HA
        "\u04af": "y",  # CYRILLIC SMALL LETTER STRAIGHT U
        "\u04cf": "l",  # CYRILLIC SMALL LETTER PALOCHKA
        "\u0261": "g",  # LATIN SMALL LETTER SCRIPT G
        "\u0451": "e",  # CYRILLIC SMALL LETTER IO
        "\u03b1": "a",  # GREEK SMALL LETTER ALPHA
        "\u03b2": "b",  # GREEK SMALL LETTER BETA
        "\u03b5": "e",  # GREEK SMALL LETTER EPSILON
        "\u03b7": "n",  # GREEK SMALL LETTER ETA
        "\u03b9": "i",  # GREEK SMALL LETTER IOTA
        "\u03ba": "k",  # GREEK SMALL LETTER KAPPA
        "\u03bd": "v",  # GREEK SMALL LETTER NU
        "\u03bf": "o",  # GREEK SMALL LETTER OMICRON
        "\u03c1": "p",  # GREEK SMALL LETTER RHO
        "\u03c4": "t",  # GREEK SMALL LETTER TAU
        "\u03c5": "u",  # GREEK SMALL LETTER UPSILON
        "\u03c7": "x",  # GREEK SMALL LETTER CHI
        "\u03c9": "w",  # GREEK SMALL LETTER OMEGA
        "\u03c2": "s",  # GREEK SMALL LETTER FINAL SIGMA
    }
)

# Order matters: multi-character look-alikes first, then single characters.
_SKELETON_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SKELETON_CHARS = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l"})


class HandleError(ValidationFailed):
    """A handle that breaks a rule; ``code`` says which."""

    code = "handle_invalid"
    default_message = _("Handles use a-z, 0-9 and _ only.")


class HandleInvalid(HandleError):
    pass


class HandleTooShort(HandleError):
    code = "handle_too_short"
    default_message = format_lazy(
        _("Handles are at least {count} characters long."), count=HANDLE_MIN_LENGTH
    )


class HandleTooLong(HandleError):
    code = "handle_too_long"
    default_message = format_lazy(
        _("Handles are at most {count} characters long."), count=HANDLE_MAX_LENGTH
    )


class HandleReserved(HandleError):
    code = "handle_reserved"
    default_message = _("That handle is reserved.")


class HandleTaken(Conflict):
    code = "handle_taken"
    status = 400
    default_message = _("That handle is taken.")


class HandleConfusable(Conflict):
    code = "handle_confusable"
    status = 400
    default_message = _("That handle looks too much like an existing one.")


def handle_key(handle: str) -> str:
    return unicodedata.normalize("NFKC", handle).casefold()


def handle_skeleton(key: str) -> str:
    """Fold look-alike characters of an (already canonical) key together."""
    skeleton = key.translate(_HOMOGLYPHS)
    for pair, replacement in _SKELETON_PAIRS:
        skeleton = skeleton.replace(pair, replacement)
    return skeleton.translate(_SKELETON_CHARS)


_RESERVED_SKELETONS = frozenset(handle_skeleton(name) for name in RESERVED_HANDLES)


def handle_normalize(raw: str) -> str:
    """Return the canonical handle for ``raw`` or raise a ``HandleError``.

    Checks only the shape of the handle (no database); ``accounts.services.handle_check``
    adds the uniqueness and confusable checks. A leading ``@`` is accepted and dropped.
    """
    if not isinstance(raw, str):
        raise HandleInvalid()
    raw = raw.strip()
    if raw.startswith("@"):
        raw = raw[1:]
    key = handle_key(raw)
    if len(key) < HANDLE_MIN_LENGTH:
        raise HandleTooShort()
    if len(key) > HANDLE_MAX_LENGTH:
        raise HandleTooLong()
    if not HANDLE_PATTERN.fullmatch(key):
        raise HandleInvalid()
    if key in RESERVED_HANDLES or handle_skeleton(key) in _RESERVED_SKELETONS:
        raise HandleReserved()
    return key


def handle_homoglyph_skeleton(raw: str) -> str | None:
    """The skeleton ``raw`` would have if its Cyrillic/Greek look-alikes were Latin.

    ``None`` when even after mapping the text is not a well-formed handle: then the input is
    just invalid, not an impersonation attempt.
    """
    if not isinstance(raw, str):
        return None
    mapped = handle_key(raw.strip().removeprefix("@")).translate(_HOMOGLYPHS)
    if not HANDLE_PATTERN.fullmatch(mapped):
        return None
    return handle_skeleton(mapped)
