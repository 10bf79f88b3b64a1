"""End to end in headless Chromium: sign up, turn on TOTP, log out, log in with a code,
post, follow someone and see their post on the home timeline. Screenshots of each page
land in artifacts/screenshots/ for a human to look at.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import hotp_value
from django.core import mail
from playwright.sync_api import expect, sync_playwright

from accounts.services import user_signup
from posts.services import post_create

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "a long and unusual passphrase 42"
PERIOD = 30


def _code(secret: str, offset: int = 0) -> str:
    # The server checks the code a moment later, with no tolerance for the previous period:
    # a code taken in the last seconds of its period may be stale when it arrives, so wait
    # for the next period then (a busy machine made this test fail once).
    left = PERIOD - time.time() % PERIOD
    if left < 5:
        time.sleep(left + 0.2)
    return f"{hotp_value(secret, int(time.time()) // PERIOD + offset):06d}"


def _fresh_code(secret: str, used: str) -> str:
    """allauth accepts each TOTP code once: wait for the next period if needed."""
    while (code := _code(secret)) == used:
        time.sleep(1)
    return code


@pytest.fixture
def page():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 412, "height": 915})  # a phone
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page
        context.close()
        browser.close()
        csp = [e for e in errors if "Content Security Policy" in e]
        assert not csp, csp


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_signup_totp_login_post_follow(live_server, page):
    friend = user_signup(
        handle="friendly", email="friendly@example.com", password=PASSWORD, display_name="Fran"
    )
    post_create(author=friend, text="Hello from @friendly #welcome")
    url = live_server.url

    # Sign up.
    page.goto(f"{url}/")
    page.screenshot(path=SHOTS / "01-welcome.png", full_page=True)
    page.goto(f"{url}/accounts/signup/")
    page.get_by_label("Handle").fill("Newcomer")
    # allauth rate-limits confirmation mail per address in the (shared) cache: a fresh one.
    page.get_by_label("Email").fill(f"newcomer-{uuid.uuid4().hex[:8]}@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.screenshot(path=SHOTS / "02-signup.png", full_page=True)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator(".account-menu summary")).to_contain_text("@newcomer")

    # Confirm the e-mail address with the link from the (test) mailbox: allauth requires a
    # verified address before it lets anyone turn on two-factor login.
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://testserver", url))
    page.screenshot(path=SHOTS / "02b-confirm-email.png", full_page=True)
    page.get_by_role("button", name="Confirm").click()

    # Turn on TOTP (allauth may first ask for the password again: sudo mode).
    page.goto(f"{url}/accounts/2fa/totp/activate/")
    if "reauthenticate" in page.url:
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) >= 16
    page.screenshot(path=SHOTS / "03-totp-activate.png", full_page=True)
    used = _code(secret)
    page.get_by_label("Authenticator code").fill(used)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("recovery", exact=False).first).to_be_visible()
    page.screenshot(path=SHOTS / "04-recovery-codes.png", full_page=True)

    # Log out, log back in with password and a (new) code.
    page.goto(f"{url}/")
    page.locator(".account-menu summary").click()  # Log out is in the account menu
    page.get_by_role("button", name="Log out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Handle or e-mail").fill("newcomer")
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=SHOTS / "05-login.png", full_page=True)
    page.get_by_role("button", name="Sign In", exact=True).click()
    page.wait_for_url("**/2fa/authenticate/**")
    page.locator("input[name=code]").fill(_fresh_code(secret, used))
    page.screenshot(path=SHOTS / "06-login-code.png", full_page=True)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()

    # Post from the composer.
    page.get_by_label("What's happening?").fill("My first post, hi @friendly <b>not bold</b>")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.locator("#timeline").get_by_text("My first post")).to_be_visible()
    assert page.locator("#timeline b").count() == 0

    # Follow @friendly and see their post on the timeline.
    page.goto(f"{url}/@friendly")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    page.screenshot(path=SHOTS / "07-profile.png", full_page=True)
    page.goto(f"{url}/")
    expect(page.locator("#timeline").get_by_text("Hello from")).to_be_visible()
    page.screenshot(path=SHOTS / "08-home.png", full_page=True)

    # Like it (htmx) and check the notification page of the friend's counterpart renders.
    page.locator("#timeline article", has_text="Hello from").get_by_role(
        "button", name="Like (0)"
    ).click()
    expect(page.get_by_role("button", name="Like (1)")).to_be_visible()
    page.goto(f"{url}/search?q=fran")
    expect(page.get_by_text("@friendly").first).to_be_visible()
    page.screenshot(path=SHOTS / "09-search.png", full_page=True)
    page.goto(f"{url}/settings")
    page.screenshot(path=SHOTS / "10-settings.png", full_page=True)
