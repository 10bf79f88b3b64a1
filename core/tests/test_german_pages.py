"""The main pages, read by a German browser in the demo world, are German throughout.

The demo world (``seed_demo``) has money, posts, tips, orders, memberships and
notifications, so every part of these pages is filled. The English words checked for are
navigation and page furniture that differ in German; the demo people's own posts stay in
whatever language they wrote them in.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from posts.models import Post

pytestmark = pytest.mark.django_db

# (viewer, path, German words the page must show)
PAGES = [
    ("alice", "/", ["Startseite", "Was gibt\u2019s Neues?", "Posten", "Antworten"]),
    (
        "alice",
        "/wallet",
        ["Guthaben", "Deine Limits", "Kontoauszug", "Aufladen", "Zahlen", "Trinkgeld an"],
    ),
    ("alice", "/wallet/requests", ["Geldanfragen", "Deine Anfragen"]),
    ("alice", "/notifications", ["Alle als gelesen markieren"]),
    ("alice", "/settings", ["Profil speichern", "Zwei-Faktor-Anmeldung"]),
    ("alice", "/posts/{carol_post}", ["Unterhaltung", "Diesen Beitrag melden"]),
    ("carol", "/creator/dashboard", ["Creator-Dashboard", "Größte Unterstützer"]),
    ("carol", "/payouts/", ["Auszahlungen", "Auszahlungseinstellungen", "Verlauf"]),
]
NAV_GERMAN = ["Benachrichtigungen", "Einstellungen", "Abmelden", "Suche", "Sprache"]
# Text of the layout and page furniture in English (as it is shown, after the tags are
# stripped); none of it may be left on a German page.
ENGLISH = [
    "Notifications",
    "Settings",
    "Log out",
    "Search",
    "Skip to content",
    "Balances",
    "Statement",
    "Your limits",
    "Mark all as read",
    "Save profile",
    "Creator dashboard",
    "Top supporters",
    "Payout settings",
    "What's happening?",
    "Older posts",
    "a microblog where money is native",
]


@pytest.fixture
def demo_world(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    call_command("seed_demo", stdout=io.StringIO())
    carol_post = (
        Post.objects.filter(author__handle="carol", reply_to__isnull=True).order_by("id").first()
    )
    return {"carol_post": carol_post.pk}


def _german(handle: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    client.force_login(User.objects.get(handle=handle))
    return client


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(("viewer", "path", "german"), PAGES)
def test_main_pages_are_german_for_a_german_browser(demo_world, viewer, path, german):
    response = _german(viewer).get(path.format(**demo_world))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="de">' in html
    text = _visible_text(html)
    missing = [word for word in [*german, *NAV_GERMAN] if word not in text]
    assert missing == []
    assert [word for word in ENGLISH if word in text] == []


def test_dates_on_german_pages_use_the_german_format(demo_world):
    html = _german("alice").get("/wallet").content.decode()
    # Statement lines: DD.MM.YYYY HH:MM, the German short date-time format.
    assert re.search(r"<time datetime=\"[^\"]+\">\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}</time>", html)
    english = _german("alice")
    english.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = english.get("/wallet").content.decode()
    # ... and the English one (MM/DD/YYYY) for an English browser.
    assert re.search(r"<time datetime=\"[^\"]+\">\d{2}/\d{2}/\d{4} ", html)


def test_every_page_has_a_language_switch_that_works_without_javascript(demo_world):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    html = client.get("/search?q=bread").content.decode()
    form = re.search(r'<form method="post" action="/settings/language".*?</form>', html, re.S)
    assert form, "the footer has the language form"
    form = form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<input type="hidden" name="next" value="/search?q=bread">' in form
    assert '<label for="language-switch">Language</label>' in form
    assert '<option value="de" lang="de">Deutsch</option>' in form
    assert '<option value="en" lang="en" selected>English</option>' in form
    answer = client.post("/settings/language", {"language": "de", "next": "/search?q=bread"})
    assert answer.status_code == 302 and answer["Location"] == "/search?q=bread"
    html = client.get("/search?q=bread").content.decode()
    assert '<html lang="de">' in html and "Sprache" in html
    assert '<option value="de" lang="de" selected>Deutsch</option>' in html
