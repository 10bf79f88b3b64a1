"""The main journeys, end to end in headless Chromium, through the pages only.

1. A newcomer signs up, tops up with a sandbox test card (credited when the processor's
   webhook reaches a real Celery worker), follows a creator, tips a post, unlocks a paid post
   and buys a print; then the creator sees it all on the dashboard, ships the order, adds a
   bank account and asks for a payout that becomes paid (the payout is submitted and its
   ``payout.paid`` webhook processed by the worker). Both halves run in one test because the
   creator's half is about what the newcomer just did.
2. A friend asks for money and is paid.

Only staff-only steps (approving the creator's verification) and the creator's prior posts
are made through services. Screenshots land in ``artifacts/screenshots/<journey>/``; a few
of them are copied to ``docs/screenshots/`` for the README.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import Notification, User
from accounts.services import follow_create, user_signup
from core.money import Money
from payments.creators import services as creators
from payments.creators.models import Order
from payments.payouts.models import Payout
from payments.wallets.tests.support import fund
from payments.wallets.verification import verification_approve, verification_request_create
from posts.services import like_create, post_create

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "a long and unusual passphrase 42"
# Wide enough for the README, narrow enough that the pages keep their mobile-first look.
VIEWPORT = {"width": 1000, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Shots:
    """Numbered full-page screenshots of one journey."""

    def __init__(self, journey: str) -> None:
        self.dir = SHOTS / journey
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, page: Page, name: str) -> None:
        self.n += 1
        page.screenshot(path=self.dir / f"{self.n:02d}-{name}.png", full_page=True)


@pytest.fixture
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        errors: list[str] = []

        def new_page() -> Page:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            return page

        yield new_page
        browser.close()
        assert not errors, errors


def log_in(page: Page, url: str, handle: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Handle or e-mail").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    # Signed in: the app bar's account menu names the person.
    expect(page.locator(".account-menu summary")).to_contain_text(f"@{handle}")


def _creator() -> tuple[User, dict]:
    """Carol, a print maker with a tip-able post, a paid post and a print for sale."""
    carol = user_signup(
        handle="carol", email="carol@example.com", password=PASSWORD, display_name="Carol Nguyen"
    )
    posts = {
        "hello": post_create(author=carol, text="New print series drops Friday: risograph cats!"),
        "paid": post_create(author=carol, text="Studio notes: how I mix risograph inks."),
        "shop": post_create(author=carol, text="The cat print is in the shop, signed."),
    }
    creators.post_set_paid_content(
        author=carol,
        post=posts["paid"],
        locked_text="Two parts fluorescent pink, one part yellow, a drop of medium.",
        price=Money(300, "USD"),
    )
    creators.product_create(
        seller=carol,
        post_id=posts["shop"].pk,
        title="Risograph cat print (A4)",
        description="Signed and numbered, limited run of 30.",
        price=Money(1_500, "USD"),
        stock=30,
        kind="physical",
    )
    return carol, posts


@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_newcomer_pays_a_creator_who_ships_and_gets_paid_out(
    live_server, browser, celery_worker_process, settings
):
    # A new bank account normally pauses payouts for days; the journey cannot wait.
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    url = live_server.url
    carol, posts = _creator()
    admin = User.objects.create_superuser(
        handle="admin", email="admin@example.com", password=PASSWORD
    )
    shot = Shots("newcomer")
    page = browser()

    # Sign up.
    page.goto(f"{url}/")
    shot(page, "welcome")
    page.goto(f"{url}/accounts/signup/")
    page.get_by_label("Handle").fill("newcomer")
    page.get_by_label("Email").fill(f"newcomer-{uuid.uuid4().hex[:8]}@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    shot(page, "signup")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator(".account-menu summary")).to_contain_text("@newcomer")

    # Top up 50.00 with the sandbox's Visa; the webhook credits it through the worker.
    page.goto(f"{url}/wallet/topup")
    page.get_by_label("Amount").fill("50.00")
    page.get_by_label("Visa (succeeds)").check()
    shot(page, "topup")
    page.get_by_role("button", name="Review").click()
    # Amount, fee and what the card is charged, before anything is charged.
    expect(page.get_by_role("cell", name="$0.00")).to_be_visible()
    shot(page, "topup-review")
    page.get_by_role("button", name="Top up $50.00").click()
    # The pending page refreshes its status by itself (htmx) once the webhook is processed.
    expect(page.get_by_text("Completed")).to_be_visible(timeout=30_000)
    shot(page, "topup-succeeded")
    page.goto(f"{url}/wallet")
    expect(page.get_by_text("$50.00").first).to_be_visible()
    shot(page, "wallet")

    # Follow the creator.
    page.goto(f"{url}/@carol")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    shot(page, "follow")

    # Tip 5.00, publicly, through the review with its fee lines, in place under the post.
    page.goto(f"{url}/posts/{posts['hello'].pk}")
    page.get_by_role("link", name="Tip").first.click()
    page.get_by_label("$5.00").check()
    page.get_by_label("Message (optional)").fill("Those cats!")
    page.get_by_label("Show my tip and message on the post").check()
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("cell", name="$4.50")).to_be_visible()
    shot(page, "tip-review")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text("You tipped @carol $5.00.")).to_be_visible()
    expect(page.get_by_text("$45.00")).to_be_visible()  # the balance, after paying
    page.reload()
    expect(page.get_by_text("Those cats!")).to_be_visible()
    shot(page, "tipped")

    # Unlock the paid post.
    page.goto(f"{url}/posts/{posts['paid'].pk}")
    expect(page.get_by_text("Two parts fluorescent pink")).to_have_count(0)
    page.get_by_role("link", name="Unlock for $3.00").click()
    shot(page, "unlock-review")
    page.get_by_role("button", name="Unlock for").click()
    expect(page.get_by_text("Two parts fluorescent pink")).to_be_visible()
    shot(page, "unlocked")

    # Buy the print (physical: a shipping address; the money waits in escrow).
    page.goto(f"{url}/posts/{posts['shop'].pk}")
    page.get_by_role("link", name="Buy").click()
    page.get_by_label("Shipping address").fill("Newcomer\n1 Print Street\nSpringfield")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_text("escrow").first).to_be_visible()
    shot(page, "buy-review")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text("Held in escrow")).to_be_visible()
    shot(page, "order")
    page.goto(f"{url}/wallet")
    expect(page.get_by_text("$27.00").first).to_be_visible()  # 50 - 5 - 3 - 15
    # Activity rows say whom each payment went to and for what.
    expect(page.locator(".activity").get_by_text("Unlocked \u2018").first).to_be_visible()
    expect(page.locator(".activity").get_by_text("from @carol").first).to_be_visible()
    shot(page, "wallet-after")

    # The creator: the dashboard shows the tip, the unlock and the sale.
    shot = Shots("creator")
    page = browser()
    log_in(page, url, "carol")
    page.goto(f"{url}/creator/dashboard")
    expect(page.locator("#earnings-chart[data-ready=true]")).to_have_count(1)
    expect(page.get_by_text("@newcomer").first).to_be_visible()
    expect(page.get_by_text("Risograph cat print").first).to_be_visible()
    shot(page, "dashboard")

    # Ship the order.
    page.goto(f"{url}/orders?role=seller")
    shot(page, "sales")
    order = Order.objects.get(seller=carol)
    page.goto(f"{url}/orders/{order.pk}")
    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.get_by_text("Shipped").first).to_be_visible()
    shot(page, "shipped")

    # Staff approve carol's identity verification (a staff-only step).
    req = verification_request_create(user=carol, legal_name="Carol Nguyen", country="US")
    verification_approve(request_id=req.pk, actor=admin)

    # A bank account (asks for the password again: sudo mode), then a payout.
    page.goto(f"{url}/payouts/settings")
    page.get_by_role("button", name="Add bank account").click()
    if "reauthenticate" in page.url:
        shot(page, "reauthenticate")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Country of the bank account").select_option("US")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Routing number").fill("110000000")
    page.get_by_label("Account number").fill("000123456789")
    page.get_by_label("Account holder name").fill("Carol Nguyen")
    shot(page, "bank-account")
    page.get_by_role("button", name="Save bank account").click()
    expect(page.get_by_text("ending in 6789")).to_be_visible()
    page.goto(f"{url}/payouts/")
    page.get_by_label("Amount").fill("5.00")
    page.get_by_role("button", name="Review payout").click()
    expect(page.get_by_role("heading", name="Confirm your payout")).to_be_visible()
    shot(page, "payout-review")
    page.get_by_role("button", name=re.compile(r"^Pay out")).click()
    expect(page.get_by_text("Payout of $5.00 requested.")).to_be_visible()
    # The worker submits it; the sandbox's payout.paid webhook then marks it paid.
    deadline = time.monotonic() + 30
    while page.locator("table mark", has_text="paid").count() == 0:
        assert time.monotonic() < deadline, "the payout never became paid"
        time.sleep(0.5)
        page.reload()
    assert Payout.objects.get(user=carol).status == "paid"
    shot(page, "payout-paid")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_friend_requests_money_and_is_paid(live_server, browser):
    url = live_server.url
    dana = user_signup(handle="dana", email="dana@example.com", password=PASSWORD)
    eve = user_signup(handle="eve", email="eve@example.com", password=PASSWORD)
    follow_create(follower=dana, followee=eve)
    follow_create(follower=eve, followee=dana)
    fund(eve, 4_000)
    shot = Shots("friends")

    # Dana asks Eve for her share of the concert tickets.
    page = browser()
    log_in(page, url, "dana")
    page.goto(f"{url}/wallet/request")
    page.get_by_label("From (handle)").fill("eve")
    page.get_by_label("Amount").fill("12.50")
    page.get_by_label("Note").fill("Concert tickets")
    shot(page, "request")
    page.get_by_role("button", name="Send request").click()
    page.goto(f"{url}/wallet/requests")
    expect(page.get_by_text("@eve · $12.50 · Open")).to_be_visible()
    shot(page, "requested")

    # Eve sees it and pays.
    friend = browser()
    log_in(friend, url, "eve")
    friend.goto(f"{url}/wallet/requests")
    expect(friend.get_by_text("Concert tickets")).to_be_visible()
    shot(friend, "asked")
    # Paying opens a review first (fee, balance after), then confirms once.
    friend.get_by_role("link", name="Pay $12.50").click()
    expect(friend.get_by_text("Your balance after paying")).to_be_visible()
    shot(friend, "request-review")
    friend.locator(".confirm button[type=submit]").click()
    friend.wait_for_url(f"{url}/wallet/transfers/*")
    expect(friend.get_by_text("Concert tickets").first).to_be_visible()
    shot(friend, "paid")
    friend.goto(f"{url}/wallet")
    expect(friend.get_by_text("$27.50").first).to_be_visible()
    shot(friend, "payer-wallet")

    # Dana has the money and the request says so.
    page.goto(f"{url}/wallet/requests")
    expect(page.get_by_text("@eve · $12.50 · Paid")).to_be_visible()
    page.goto(f"{url}/wallet")
    expect(page.get_by_text("$12.50").first).to_be_visible()
    shot(page, "paid")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_live_timeline_scrolls_tips_in_place_and_the_badge_updates(live_server, browser):
    """Infinite scroll loads the second page, a tip is paid from under a post without
    leaving the timeline, and the notification badge counts what another person just did."""
    url = live_server.url
    gus = user_signup(handle="gus", email="gus@example.com", password=PASSWORD)
    hana = user_signup(handle="hana", email="hana@example.com", password=PASSWORD)
    follow_create(follower=gus, followee=hana)
    fund(gus, 2_000)
    for i in range(25):  # a page is 20 posts
        post_create(author=hana, text=f"Sketch number {i} of the week")
    shot = Shots("live")

    page = browser()
    log_in(page, url, "gus")
    expect(page.locator("article.post-card")).to_have_count(20)
    shot(page, "home-first-page")
    # Scrolling to the end loads the older posts in place (hx-trigger="revealed").
    page.locator("#more").scroll_into_view_if_needed()
    expect(page.locator("article.post-card")).to_have_count(25)
    expect(page.get_by_text("Sketch number 0 of the week")).to_be_visible()
    assert page.url.rstrip("/") == url  # no navigation happened
    shot(page, "home-second-page")

    # Tip the oldest post from under it: form, review with the fee lines, paid.
    card = page.locator("article.post-card", has_text="Sketch number 0 of")
    card.get_by_role("link", name="Tip").click()
    card.get_by_label("$2.00").check()
    card.get_by_role("button", name="Review").click()
    expect(card.get_by_role("cell", name="$0.20")).to_be_visible()
    card.get_by_role("button", name="Pay $2.00").click()
    expect(card.get_by_text("You tipped @hana $2.00.")).to_be_visible()
    expect(card.get_by_text("$18.00")).to_be_visible()
    shot(page, "tipped-in-place")

    # Hana follows gus and likes his post: his badge, which polls itself, shows it.
    mine = post_create(author=gus, text="Thanks for the sketches!")
    follow_create(follower=hana, followee=gus)
    like_create(user=hana, post_id=mine.pk)
    assert 'hx-trigger="every 30s, refresh"' in page.locator("#notif-badge").evaluate(
        "el => el.outerHTML"
    )
    # Rather than wait 30 s: the same request the poll makes (and the tab's return does).
    unread = Notification.objects.filter(recipient=gus, read_at__isnull=True).count()
    assert unread >= 2
    page.evaluate("htmx.trigger('#notif-badge', 'refresh')")
    expect(page.locator("#notif-badge mark")).to_have_text(re.compile(rf"^{unread}\s*unread$"))
    shot(page, "badge-updated")
