"""The home currency suggested at sign-up, from the browser's ``Accept-Language`` header.

The languages are tried in the browser's order of preference (``q`` values, ties in header
order). A tag with a region (``de-CH``, ``en-GB``, ``pt-BR``) is decided by the region's
legal tender; a bare language (``ja``, ``hi``, ``de``) by its most likely region in the
Unicode CLDR data (``ja`` → JP → JPY, ``hi`` → IN → INR, ``de`` → DE → EUR), both from
babel. A tag whose currency the platform does not hold is skipped (``es-MX`` alone does
not become EUR; ``es-MX,es;q=0.9`` does, from ``es``). Nothing usable → USD. It is only a
suggestion: people change their home currency in their settings.
"""

from __future__ import annotations

from babel.core import get_global
from babel.numbers import get_territory_currencies
from django.conf import settings

DEFAULT = "USD"
MAX_HEADER = 1000
MAX_TAGS = 20


def _preferences(header: str) -> list[str]:
    """Language tags, most preferred first (``q=0`` means "not this one")."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER].split(",")[:MAX_TAGS]):
        tag, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _region(tag: str) -> str | None:
    parts = tag.replace("_", "-").split("-")
    # ISO 3166 (``GB``) or UN M.49 (``419``, Latin America: a region with no one currency).
    regions = [
        p.upper()
        for p in parts[1:]
        if (len(p) == 2 and p.isalpha()) or (len(p) == 3 and p.isdigit())
    ]
    if regions:
        return regions[0]
    likely = get_global("likely_subtags").get(parts[0].lower())
    return likely.split("_")[-1] if likely else None


def home_currency_match(accept_language: str | None) -> str | None:
    """The first supported currency the header's languages point to, or None."""
    supported = set(settings.SUPPORTED_CURRENCIES)
    for tag in _preferences(accept_language or ""):
        region = _region(tag)
        if region is None:
            continue
        for code in get_territory_currencies(region, tender=True):
            if code in supported:
                return code
    return None


def home_currency_suggest(accept_language: str | None) -> str:
    """The home currency to give a new account for an ``Accept-Language`` header value."""
    match = home_currency_match(accept_language)
    if match is not None:
        return match
    return DEFAULT if DEFAULT in settings.SUPPORTED_CURRENCIES else settings.SUPPORTED_CURRENCIES[0]
