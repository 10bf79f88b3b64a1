"""/styleguide: staff (and everyone while DEBUG is on) see the tokens read from the
stylesheet, every component in both themes and every icon of the sprite; everybody else
gets a 404; the page asks search engines to stay away."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import user_signup
from core.styleguide import design_tokens, sprite_icons

pytestmark = pytest.mark.django_db


def _client(*, staff: bool) -> Client:
    user = user_signup(
        handle="sgstaff" if staff else "sgmember",
        email=f"sg{int(staff)}@example.com",
        password="a long enough password 1",
    )
    user.is_staff = staff
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_staff_see_tokens_components_in_both_themes_and_every_icon():
    client = _client(staff=True)
    response = client.get("/styleguide")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert 'data-theme="light"' in html and 'data-theme="dark"' in html
    tokens = design_tokens()
    assert tokens["colour"] and tokens["space"] and tokens["type"]
    for name, _value in (*tokens["colour"], *tokens["space"], *tokens["type"]):
        assert f"<code>{name}</code>" in html
    assert len(sprite_icons()) > 20
    for icon in sprite_icons():
        assert f"<code>{icon}</code>" in html
    for part in ("status-badge", "avatar avatar-sm", 'class="empty"', 'table class="cards"'):
        assert part in html
    # The samples' rules: one per token, served as a stylesheet (the CSP allows no inline style).
    css = client.get("/styleguide.css")
    assert css["Content-Type"].startswith("text/css")
    assert ".sg--sp-positive { background: var(--sp-positive); }" in css.content.decode()
    assert ' style="' not in html.split("<main", 1)[1]


def test_the_style_guide_in_german():
    client = _client(staff=True)
    client.cookies["django_language"] = "de"
    html = client.get("/styleguide").content.decode()
    assert "Helles Design" in html and "Dunkles Design" in html and "Abstände" in html


def test_others_get_404_unless_debug(settings):
    assert Client().get("/styleguide").status_code == 404
    member = _client(staff=False)
    assert member.get("/styleguide").status_code == 404
    assert member.get("/styleguide.css").status_code == 404
    settings.DEBUG = True
    assert member.get("/styleguide").status_code == 200
