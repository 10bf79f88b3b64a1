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

from accounts.models import User
from accounts.services import user_signup
from core.money import Money
from payments.creators import services as creators
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


# A handle as long as handles may be (accounts.handles.HANDLE_MAX_LENGTH).
LONG_HANDLE = "a_rather_long_handle_for_tests"


def _overflow(page, label: str) -> list[str]:
    """The whole document, not one element: anything wider than the window scrolls sideways."""
    page.wait_for_load_state("networkidle")
    slug = label.replace(" ", "-").replace("/", "_")
    page.screenshot(path=SHOTS / f"header-{slug}.png")
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    problems = [f"{label}: {width}px wide in a {inner}px window"] if width > inner else []
    height = page.locator(".appbar").evaluate("e => e.getBoundingClientRect().height")
    if height > 80:
        problems.append(f"{label}: the app bar wraps ({height:.0f}px)")
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_header_fits_a_phone_for_a_visitor_in_both_languages(live_server, chromium):
    with deliver_tasks_inline():
        world = _world()
    paths = ["/", "/@ada", f"/posts/{world['paid'].pk}", "/search", "/accounts/login/"]
    problems: list[str] = []
    for lang in LANGUAGES:
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": 390, "height": 844}
        )
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        for path in paths:
            page.goto(path)
            problems += _overflow(page, f"visitor {path} 390 {lang}")
        # Log in and Sign up stay reachable from the header.
        assert (
            page.locator(".appbar")
            .get_by_role("link", name="Sign up" if lang == "en" else "Registrieren")
            .is_visible()
        )
        context.close()
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_header_fits_with_the_longest_handle_in_german(live_server, chromium):
    with deliver_tasks_inline():
        _world()
    user_signup(
        handle=LONG_HANDLE,
        email="long@example.com",
        password=PASSWORD,
        display_name="Maximiliane Mustermann-Schmidt",
    )
    problems: list[str] = []
    context = chromium.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Handle or e-mail").fill(LONG_HANDLE)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url(f"{live_server.url}/")
    context.add_cookies([{"name": "django_language", "value": "de", "url": live_server.url}])
    # A small laptop too: there the five places show their labels again.
    for view, width, height in [*WIDTHS, ("laptop", 1024, 768)]:
        page.set_viewport_size({"width": width, "height": height})
        for path in ["/", "/wallet", f"/@{LONG_HANDLE}", "/notifications"]:
            page.goto(path)
            problems += _overflow(page, f"{LONG_HANDLE} {path} {view} de")
        # The account menu still opens and its items stay inside the window.
        page.goto("/")
        page.locator(".account-menu summary").click()
        right = page.locator(".account-menu ul").evaluate("e => e.getBoundingClientRect().right")
        if right > width:
            problems.append(f"account menu {view} de: reaches {right:.0f}px in a {width}px window")
    context.close()
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_profiles_shop_and_memberships_tabs_fit_a_phone(live_server, chromium):
    """Signed in and as a visitor, in both languages: the tab pages fit 390 px with their
    cards' buttons inside the window, and a tab opens in place (htmx) with the address and
    aria-current following."""
    with deliver_tasks_inline():
        _world()
    cleo = User.objects.get(handle="cleo")
    creators.tier_create(
        creator=cleo,
        name="Studio friends with a rather long tier name",
        price=Money(500, "USD"),
        perks="Every print file, a zine a month and a postcard from the studio.",
    )
    problems: list[str] = []
    for lang in LANGUAGES:
        for signed_in in (True, False):
            context = chromium.new_context(
                base_url=live_server.url, viewport={"width": 390, "height": 844}
            )
            page = context.new_page()
            if signed_in:
                _sign_in(page, live_server.url)
            context.add_cookies(
                [{"name": "django_language", "value": lang, "url": live_server.url}]
            )
            who = "ada" if signed_in else "visitor"
            for tab, button in [("shop", ".product-card"), ("memberships", ".tier-card")]:
                page.goto(f"/@cleo?tab={tab}")
                problems += _overflow(page, f"{who} /@cleo?tab={tab} 390 {lang}")
                right = page.locator(f"{button} .pill-button").first.evaluate(
                    "e => e.getBoundingClientRect().right"
                )
                if right > 390:
                    problems.append(f"{who} {tab} {lang}: the button reaches {right:.0f}px")
            # From the posts, the Shop tab swaps the panel in place and the address follows.
            page.goto("/@cleo")
            page.locator(".profile-tabs a[href$='?tab=shop']").click()
            page.wait_for_url(f"{live_server.url}/@cleo?tab=shop")
            current = page.locator(".profile-tabs a[aria-current=page]")
            assert current.get_attribute("href") == "/@cleo?tab=shop"
            assert page.locator(".product-card").count() == 1
            context.close()
    assert problems == []
