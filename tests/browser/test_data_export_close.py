"""Your data, in headless Chromium on a phone (390 px) and a desktop (1280 px), in English
and German: a person asks for an export, watches it being built by the real Celery worker,
downloads the ZIP and finds their profile and payment in it, then closes the account
(their password asked again first) and cannot sign in any more. The ledger is unchanged
and still verifies."""

from __future__ import annotations

import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from playwright.sync_api import expect

from accounts.models import DataExport, User
from accounts.services import user_signup
from core.money import Money
from ledger.models import Posting
from ledger.selectors import ledger_verify
from payments.wallets.tests.support import fund
from payments.wallets.transfers import transfer_create
from posts.services import post_create
from tests.browser.test_journeys import PASSWORD, Shots
from tests.browser.test_journeys import browser as browser  # the fixture

WORDS = {
    "en": {
        "prepare": "Prepare my data",
        "download": "Download ZIP",
        "confirm": "Type your handle to confirm",
        "close": "Close my account for good",
        "closed": "Your account is closed.",
    },
    "de": {
        "prepare": "Meine Daten vorbereiten",
        "download": "ZIP herunterladen",
        "confirm": "Gib zur Bestätigung dein Handle ein",
        "close": "Mein Konto endgültig schließen",
        "closed": "Dein Konto ist geschlossen.",
    },
}


@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize(("view", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 900)])
def test_export_download_then_close_the_account(
    live_server, browser, celery_worker_process, tmp_path, lang, view, width, height
):
    words = WORDS[lang]
    handle = f"leaver_{uuid.uuid4().hex[:6]}"
    ada = user_signup(handle=handle, email=f"{handle}@example.com", password=PASSWORD)
    User.objects.filter(pk=ada.pk).update(language=lang)
    other = f"stayer_{uuid.uuid4().hex[:6]}"
    bob = user_signup(handle=other, email=f"{other}@example.com", password=PASSWORD)
    fund(ada, 3000)
    # Everything paid away: a wallet at zero can close.
    transfer_create(sender=ada, to=bob, money=Money(3000, "USD"), client_key=uuid.uuid4().hex)
    post_create(author=ada, text="goodbye")
    postings_before = Posting.objects.count()

    url = live_server.url
    shot = Shots(f"data-export-close-{view}-{lang}")
    page = browser()
    page.set_viewport_size({"width": width, "height": height})
    page.context.set_extra_http_headers({"Accept-Language": f"{lang};q=1.0"})
    client = Client()
    client.force_login(ada)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}]
    )

    page.goto(f"{url}/settings/data")
    # Nothing on the page runs off the side. (Only the page's own content: with a long
    # handle in German, the app bar's account menu is wider than 1280 px, a matter of the
    # shared header.)
    wide = page.evaluate(
        "w => [...document.querySelectorAll('main *')]"
        ".filter(e => !e.closest('nav.subnav'))"  # the settings tabs scroll sideways
        ".filter(e => e.getBoundingClientRect().right > w).map(e => e.outerHTML.slice(0, 80))",
        width,
    )
    assert wide == []
    page.get_by_role("button", name=words["prepare"]).click()
    # htmx polls the row until the worker has built the ZIP.
    link = page.get_by_role("link", name=words["download"])
    expect(link).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name=words["prepare"])).to_be_enabled()
    shot(page, "ready")
    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.endswith(".zip")
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("profile.json"))[0]["handle"] == handle
        (sent,) = json.loads(archive.read("payments/transfers.json"))
        assert (sent["counterparty"], sent["amount"]) == (bob.handle, 3000)
        assert "README.txt" in archive.namelist()
    for export in DataExport.objects.filter(user=ada):
        default_storage.delete(export.file_name)

    # Closing: the handle typed again, then the password again.
    page.get_by_label(words["confirm"]).fill(handle)
    shot(page, "close")
    page.get_by_role("button", name=words["close"]).click()
    page.wait_for_url("**/reauthenticate/**")
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("input[type=password]").press("Enter")
    expect(page.get_by_text(words["closed"])).to_be_visible()
    shot(page, "closed")

    closed = User.objects.get(pk=ada.pk)
    assert closed.closed_at is not None and closed.handle.startswith("closed-")
    assert Posting.objects.count() == postings_before
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []
    # The old session is gone and the password no longer opens the account.
    page.goto(f"{url}/settings/data")
    assert "/accounts/login/" in page.url
    page.locator("input[name=login]").fill(handle)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("input[type=password]").press("Enter")
    assert "/accounts/login/" in page.url
