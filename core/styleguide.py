"""/styleguide: the design system on one page — its tokens read from the stylesheet itself
(so the page can never drift from the CSS), every component, and every icon of the sprite,
shown side by side in the light and the dark theme.

Who sees it: staff, and everyone while ``DEBUG`` is on (designers on a development
machine). Everybody else gets a 404, and the page carries ``noindex`` besides, so a
copy left open on a staging host stays out of search engines.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.money import Money

_TOKEN_RE = re.compile(r"(--sp-[a-z0-9-]+)\s*:\s*([^;]+);")
_SYMBOL_RE = re.compile(r'<symbol[^>]*\bid="([a-z0-9-]+)"')


def _static_text(path: str) -> str:
    found = finders.find(path)
    if not isinstance(found, str):  # a missing file is a broken deployment, not a 404
        raise FileNotFoundError(path)
    return Path(found).read_text(encoding="utf-8")


@cache
def design_tokens() -> dict[str, list[tuple[str, str]]]:
    """The ``--sp-*`` custom properties of the light theme (their first definition in
    socialpay.css), grouped by what they are."""
    css = _static_text("socialpay.css")
    groups: dict[str, list[tuple[str, str]]] = {
        "colour": [],
        "type": [],
        "space": [],
        "shape": [],
        "layout": [],
    }
    seen: set[str] = set()
    for name, value in _TOKEN_RE.findall(css):
        if name in seen:
            continue
        seen.add(name)
        groups[_token_group(name)].append((name, value.strip()))
    return groups


def _token_group(name: str) -> str:
    if name.startswith("--sp-text"):
        return "type"
    if name.startswith("--sp-space"):
        return "space"
    if name.startswith(("--sp-radius", "--sp-shadow")):
        return "shape"
    if name.endswith(("-h", "-max")):
        return "layout"
    return "colour"


@cache
def sprite_icons() -> list[str]:
    """Every symbol id of the vendored icon sprite, in the sprite's order."""
    svg = _static_text("icons/sprite.svg")
    return _SYMBOL_RE.findall(svg)


def _allowed(request) -> bool:
    return settings.DEBUG or (request.user.is_authenticated and request.user.is_staff)


@require_GET
def styleguide_css(request):
    """One rule per token (``.sg--sp-accent``) that shows it: a colour as a background,
    a type size as a font size, a space as a width."""
    if not _allowed(request):
        raise Http404
    groups = design_tokens()
    rules = [f".sg{n} {{ background: var({n}); }}" for n, _v in groups["colour"]]
    rules += [f".sg{n} {{ font-size: var({n}); }}" for n, _v in groups["type"]]
    rules += [f".sg{n} {{ width: var({n}); }}" for n, _v in groups["space"]]
    return HttpResponse("\n".join(rules) + "\n", content_type="text/css; charset=utf-8")


@require_GET
def styleguide(request):
    if not _allowed(request):
        raise Http404
    # Sample people for the avatar and person components: no database rows needed.
    people = [
        SimpleNamespace(pk=i, name=name, handle=name.lower(), avatar=None)
        for i, name in enumerate(["Ada", "Bruno", "Cleo", "Dara", "Emil", "Farah"])
    ]
    return render(
        request,
        "styleguide.html",
        {
            "tokens": design_tokens(),
            "icons": sprite_icons(),
            "people": people,
            "themes": ["light", "dark"],
            "money_in": Money(1250, "EUR"),
            "money_out": Money(-480, "EUR"),
            "money_big": Money(123456, "USD"),
            "statuses": ["completed", "pending", "failed", "refunded"],
        },
    )
