"""Embeds: the tip card and button and the post embed may be framed by any site with a
policy that allows no script; every other page still forbids framing; oEmbed for posts
answers JSON for our post addresses only and never carries the locked text."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.creators import services as creators
from payments.creators.tests.factories import make_post, make_user

pytestmark = pytest.mark.django_db

SECRET = "locked-words-for-payers-only"


def _policy(response) -> dict[str, str]:
    parts = [p.strip() for p in response["Content-Security-Policy"].split(";") if p.strip()]
    return {p.split()[0]: " ".join(p.split()[1:]) for p in parts}


def assert_frameable_and_scriptless(response):
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["frame-ancestors"] == "*"
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["form-action"] == "'none'"
    assert "X-Frame-Options" not in response
    html = response.content.decode()
    assert "<script" not in html and "<form" not in html


def test_tip_card_and_button_are_frameable_and_link_to_the_tip_jar():
    creator = make_user()
    for style in ("", "?style=button", "?style=<bogus>"):
        got = Client().get(f"/embed/tip/{creator.handle}{style}")
        assert_frameable_and_scriptless(got)
        html = got.content.decode()
        assert (
            f'href="http://testserver/tip/{creator.handle}" target="_blank" rel="noopener"' in html
        )
    assert Client().get("/embed/tip/nobody_here_at_all").status_code == 404


def test_every_other_page_still_forbids_framing():
    creator = make_user()
    for path in (f"/@{creator.handle}", "/", "/accounts/login/"):
        got = Client().get(path)
        assert "frame-ancestors 'none'" in got["Content-Security-Policy"]
        assert got["X-Frame-Options"] == "DENY"


def test_embed_code_page_gives_the_iframe_and_the_plain_link():
    creator = make_user()
    client = Client()
    client.force_login(creator)
    html = client.get("/embed").content.decode()
    assert f"&lt;iframe src=&quot;http://testserver/embed/tip/{creator.handle}&quot;" in html or (
        f'&lt;iframe src="http://testserver/embed/tip/{creator.handle}"' in html
    )
    assert f'&lt;a href="http://testserver/tip/{creator.handle}"&gt;' in html


def test_post_embed_and_oembed_without_the_locked_text():
    author = make_user()
    paid = creators.paid_post_create(
        author=author, text="Teaser", locked_text=SECRET, price=Money(300, "USD")
    )
    got = Client().get(f"/embed/posts/{paid.pk}")
    assert_frameable_and_scriptless(got)
    assert "Teaser" in got.content.decode() and SECRET not in got.content.decode()
    detail = Client().get(f"/posts/{paid.pk}").content.decode()
    assert 'type="application/json+oembed"' in detail
    data = (
        Client()
        .get("/oembed", {"url": f"http://testserver/posts/{paid.pk}", "maxwidth": "300"})
        .json()
    )
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert f'src="http://testserver/embed/posts/{paid.pk}"' in data["html"] and data["width"] == 300
    assert data["author_url"] == f"http://testserver/@{author.handle}"
    assert SECRET not in str(data)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"url": "http://elsewhere.example/posts/1"},
        {"url": "http://testserver/wallet"},
        {"url": "http://testserver/posts/999999999"},
        {"url": "javascript:alert(1)"},
        {"url": "http://testserver/posts/" + "9" * 3000},
    ],
)
def test_oembed_refuses_anything_but_our_posts(params):
    assert Client().get("/oembed", params).status_code == 404


def test_oembed_xml_is_not_implemented():
    post = make_post(make_user())
    got = Client().get("/oembed", {"url": f"http://testserver/posts/{post.pk}", "format": "xml"})
    assert got.status_code == 501
