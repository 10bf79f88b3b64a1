"""The main pages on a phone (390 px) and a desktop (1280 px), in English and German, in
headless Chromium: nothing is wider than the screen, a phone shows the page's main action
without scrolling, the navigation is one app bar (plus the bottom tab bar on a phone)
that stays on one row even with German labels, and German pages show no English
navigation. Screenshots land in artifacts/screenshots/responsive/ for a human to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from payments.fx.tests.support import deliver_tasks_inline
from tests.browser.test_accessibility import PASSWORD, _world

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots" / "responsive"
WIDTHS = [("phone", 390, 844), ("desktop", 1280, 900)]
LANGUAGES = ["en", "de"]
# (name, path, the main action a phone must show without scrolling, or None)
PAGES = [
    ("home", "/", "#main form button[type=submit]"),
    ("wallet", "/wallet", ".primary-actions .action-button.primary"),
    ("profile", "/@cleo", ".profile-money .pill-button.primary"),
    ("notifications", "/notifications", None),
    ("send", "/wallet/send", "#main form button[type=submit]"),
    ("payouts", "/payouts/", "#main form button[type=submit]"),
    ("verify", "/wallet/verify", None),
    ("orders", "/orders", None),
    ("dashboard", "/creator/dashboard", None),
    ("fx", "/fx/", None),
]
# Navigation words that must not be left in English on a German page.
ENGLISH_NAV = ["Notifications", "Search", "Home", "Log out", "Settings", "Top up", "Cash out"]


@pytest.fixture
def chromium():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _check_page(page, name: str, path: str, action: str | None, view: str, lang: str) -> list:
    problems = []
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SHOTS / f"{name}-{view}-{lang}.png", full_page=True)
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > inner:
        problems.append(f"{name} {view} {lang}: {width}px wide in a {inner}px window")
    if view == "phone":
        if action and not page.locator(action).first.evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " const bar = document.querySelector('.tabbar').getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= bar.top && r.width > 0; }"
        ):
            problems.append(f"{name} {view} {lang}: the main action is below the fold")
        if not page.locator(".tabbar").is_visible():
            problems.append(f"{name} {view} {lang}: no tab bar")
    # One app bar, one row: not taller than a row of buttons.
    height = page.locator(".appbar").evaluate("e => e.getBoundingClientRect().height")
    if height > 80:
        problems.append(f"{name} {view} {lang}: the app bar wraps ({height:.0f}px)")
    if lang == "de":
        nav = page.locator(".appbar").inner_text() + " " + page.locator("h1").first.inner_text()
        left = [word for word in ENGLISH_NAV if word in nav]
        if left:
            problems.append(f"{name} {view} {lang}: English left in the navigation: {left}")
    return problems


def _sign_in(page, url: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Handle or e-mail").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(f"{url}/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_main_pages_fit_phones_and_desktops_in_both_languages(live_server, chromium):
    with deliver_tasks_inline():
        _world()
    problems: list[str] = []
    for lang in LANGUAGES:
        context = chromium.new_context(base_url=live_server.url)
        page = context.new_page()
        _sign_in(page, live_server.url)
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        for view, width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            for name, path, action in PAGES:
                problems += _check_page(page, name, path, action, view, lang)
        context.close()
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_account_menu_opens_and_leads_to_settings_on_a_phone(live_server, chromium):
    with deliver_tasks_inline():
        _world()
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in(page, live_server.url)
    settings_link = page.get_by_role("link", name="Settings")
    assert not settings_link.is_visible()  # folded away in the menu
    page.locator(".account-menu summary").click()
    settings_link.click()
    page.wait_for_url(f"{live_server.url}/settings")
    # The tab bar's Wallet tab takes the thumb to the wallet, marked as the current place.
    page.locator(".tabbar").get_by_role("link", name="Wallet").click()
    page.wait_for_url(f"{live_server.url}/wallet")
    assert page.locator('.tabbar a[aria-current="page"]').inner_text().strip() == "Wallet"
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_theme_toggle_switches_and_is_remembered(live_server, chromium):
    with deliver_tasks_inline():
        _world()
    context = chromium.new_context(base_url=live_server.url, color_scheme="light")
    page = context.new_page()
    _sign_in(page, live_server.url)
    html = page.locator("html")
    assert html.get_attribute("data-theme") is None  # the system's choice until one is made
    page.locator(".account-menu summary").click()
    page.locator("[data-theme-toggle]").click()
    assert html.get_attribute("data-theme") == "dark"
    page.goto("/wallet")  # rendered by the server from the cookie: no flash of the other theme
    assert page.locator("html").get_attribute("data-theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    context.close()
