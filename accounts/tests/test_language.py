"""The interface language: the browser's Accept-Language, a cookie for anyone, and a
signed-in person's saved choice above both; the API's human messages follow it too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Notification
from payments.wallets.tests.support import api, person

pytestmark = pytest.mark.django_db


def signed_in(user, **headers) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def test_accept_language_de_gives_german_labels_and_html_lang():
    page = signed_in(person(), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5").get("/settings")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="de">' in html
    assert "Anzeigename" in html and "Sprache des Browsers" in html
    assert page["Content-Language"] == "de"


def test_english_browser_gets_english():
    html = signed_in(person(), HTTP_ACCEPT_LANGUAGE="en-US").get("/settings").content.decode()
    assert '<html lang="en">' in html and "Display name" in html and "Anzeigename" not in html


def test_saved_choice_beats_the_browser_both_ways():
    english = signed_in(person(language="en"), HTTP_ACCEPT_LANGUAGE="de")
    html = english.get("/settings").content.decode()
    assert '<html lang="en">' in html and "Display name" in html
    german = signed_in(person(language="de"), HTTP_ACCEPT_LANGUAGE="en")
    html = german.get("/settings").content.decode()
    assert '<html lang="de">' in html and "Anzeigename" in html


def test_settings_form_saves_the_choice_and_confirms_in_it():
    user = person()
    client = signed_in(user, HTTP_ACCEPT_LANGUAGE="en")
    form = {"display_name": "Ann", "bio": "", "link": "", "language": "de"}
    page = client.post("/settings", form, follow=True)
    user.refresh_from_db()
    assert user.language == "de"
    html = page.content.decode()
    assert "Profil gespeichert." in html and '<html lang="de">' in html
    # Back to following the browser.
    client.post("/settings", form | {"language": ""})
    user.refresh_from_db()
    assert user.language == ""
    assert '<html lang="en">' in client.get("/settings").content.decode()


def test_settings_form_refuses_an_unknown_language_and_writes_nothing():
    user = person(display_name="Before")
    page = signed_in(user).post(
        "/settings", {"display_name": "After", "bio": "", "link": "", "language": "fr"}
    )
    assert page.status_code == 200  # the form again, with its error
    user.refresh_from_db()
    assert user.language == "" and user.display_name == "Before"


def test_anonymous_visitors_pick_a_language_with_a_cookie():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    answer = client.post("/settings/language", {"language": "de", "next": "/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.cookies["django_language"].value == "de"
    assert '<html lang="de">' in client.get("/").content.decode()


def test_the_language_switch_also_saves_a_signed_in_persons_choice():
    user = person()
    signed_in(user).post("/settings/language", {"language": "de", "next": "/"})
    user.refresh_from_db()
    assert user.language == "de"
    # An unknown language changes nothing and is no error.
    answer = signed_in(user).post("/settings/language", {"language": "xx", "next": "/"})
    assert answer.status_code == 302
    user.refresh_from_db()
    assert user.language == "de"


def test_api_me_patch_sets_and_validates_the_language():
    user = person()
    client = api(user)
    answer = client.patch("/api/v1/me", {"language": "de"}, format="json")
    assert answer.status_code == 200 and answer.json()["language"] == "de"
    refused = client.patch("/api/v1/me", {"language": "fr", "bio": "new"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "language_invalid"
    user.refresh_from_db()
    assert user.language == "de" and user.bio == ""
    assert client.patch("/api/v1/me", {"language": 5}, format="json").status_code == 400
    assert client.patch("/api/v1/me", {"language": ""}, format="json").json()["language"] == ""


def test_api_error_messages_follow_accept_language_and_codes_stay():
    client = api(person())
    german = client.get("/api/v1/users/nobody_here", HTTP_ACCEPT_LANGUAGE="de")
    english = client.get("/api/v1/users/nobody_here", HTTP_ACCEPT_LANGUAGE="en")
    assert german.status_code == english.status_code == 404
    assert german.json()["error"]["code"] == english.json()["error"]["code"]
    assert german.json()["error"]["message"] == "Diese Person gibt es nicht."
    assert english.json()["error"]["message"] == "No such person."


def test_flash_messages_are_translated():
    me, other = person(), person()
    page = signed_in(me, HTTP_ACCEPT_LANGUAGE="de").post(f"/@{other.handle}/follow", follow=True)
    assert f"Du folgst jetzt @{other.handle}." in page.content.decode()


def test_dates_on_pages_are_localized():
    me, other = person(), person()
    Notification.objects.create(
        recipient=me, actor=other, kind="follow", created_at=timezone.now() - timedelta(hours=3)
    )
    pages = {
        lang: signed_in(me, HTTP_ACCEPT_LANGUAGE=lang)
        .get("/notifications")
        .content.decode()
        .replace("\xa0", " ")
        for lang in ("de", "en")
    }
    assert "vor 3 Stunden" in pages["de"]
    assert "3 hours ago" in pages["en"]
