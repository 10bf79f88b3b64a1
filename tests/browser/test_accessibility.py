"""Accessibility audit: axe-core (vendored in static/vendor/axe-core, injected by the test,
never served to pages) runs in headless Chromium on every main page, on a phone in light
mode and on a desktop in dark mode, and no serious or critical violation is allowed.

The person is signed in through the login form (so two-factor set-up needs no
re-authentication) and has real data made through the services: posts, a paid post, a
product, tips, an order, payments, requests and notifications. Screenshots of every page
land in artifacts/screenshots/a11y/ for a human to look at.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import sync_playwright

from accounts.services import follow_create, user_signup
from core.money import Money
from payments.creators import services as creators
from payments.fx.services import fx_rates_refresh
from payments.fx.tests.support import deliver_tasks_inline
from payments.payouts.services import payout_destination_add
from payments.wallets import topups
from payments.wallets.requests import request_create
from payments.wallets.transfers import transfer_create
from posts.services import like_create, post_create

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "static" / "vendor" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "artifacts" / "screenshots" / "a11y"
PASSWORD = "a long and unusual passphrase 42"
BLOCKING = {"serious", "critical"}
# (name, width, colour scheme): every page is audited in both.
VIEWS = [("phone-light", 390, "light"), ("desktop-dark", 1100, "dark")]


def _person(handle: str, name: str):
    return user_signup(
        handle=handle, email=f"{handle}@example.com", password=PASSWORD, display_name=name
    )


def _fund(user, amount: int, currency: str = "USD") -> None:
    """A sandbox card top-up, settled the way its webhook settles it."""
    topup = topups.topup_create(
        user=user,
        money=Money(amount, currency),
        payment_method="pm_card_visa",
        client_key=f"a11y:{uuid.uuid4().hex}",
    )
    topups.topup_settle(topup_id=topup.pk, payment_id=topup.payment_id)


def _world() -> dict:
    """Ada is a creator with fans, money, orders and requests; Ben and Cleo are her friends."""
    ada, ben, cleo = _person("ada", "Ada L."), _person("ben", "Ben"), _person("cleo", "Cleo")
    EmailAddress.objects.get(user=ada).set_verified(commit=True)  # for two-factor set-up
    for user in (ada, ben, cleo):
        _fund(user, 50_000)
    _fund(ada, 20_000, "EUR")
    follow_create(follower=ben, followee=ada)
    follow_create(follower=ada, followee=cleo)
    follow_create(follower=cleo, followee=ada)

    hello = post_create(author=ada, text="Hello #socialpay, thanks @ben for the coffee")
    post_create(author=cleo, text="New prints in the shop, @ada")
    post_create(author=ben, text="Replying to a friend", reply_to_id=hello.pk)
    like_create(user=ben, post_id=hello.pk)
    paid = creators.post_set_paid_content(
        author=ada,
        post=post_create(author=ada, text="My essay on ledgers (teaser)"),
        locked_text="The whole essay, for supporters.",
        price=Money(300, "USD"),
    )
    zine = creators.product_create(
        seller=ada,
        post_id=paid.pk,
        title="Ledger zine",
        description="32 pages",
        price=Money(1500, "USD"),
        stock=5,
        kind="digital",
        delivery_url="https://example.com/zine.pdf",
    )
    prints = creators.product_create(
        seller=cleo,
        post_id=post_create(author=cleo, text="Risograph prints").pk,
        title="Print",
        description="A3 risograph",
        price=Money(2500, "USD"),
        stock=3,
        kind="physical",
    )
    creators.tip_send(
        tipper=ben,
        amount=Money(500, "USD"),
        request_key=uuid.uuid4().hex,
        post_id=hello.pk,
        message="Keep going!",
        visibility="public",
    )
    creators.unlock_purchase(buyer=ben, post_id=paid.pk)
    creators.order_create(buyer=ben, product_id=zine.pk, quantity=1, request_key=uuid.uuid4().hex)
    order = creators.order_create(
        buyer=ada,
        product_id=prints.pk,
        quantity=1,
        request_key=uuid.uuid4().hex,
        shipping_address="1 Example Street\nBerlin",
    )
    transfer = transfer_create(
        sender=ada, to=ben, money=Money(1250, "USD"), client_key=uuid.uuid4().hex, note="pizza"
    )
    taxi = request_create(
        requester=ben, payer=ada, money=Money(800, "USD"), client_key="r1", note="taxi"
    )
    request_create(requester=ada, payer=cleo, money=Money(400, "USD"), client_key="r2")
    payout_destination_add(user=ada, account_number="000123456789", routing_number="110000000")
    fx_rates_refresh()
    return {
        "ada": ada,
        "hello": hello,
        "paid": paid,
        "order": order,
        "transfer": transfer,
        "taxi": taxi,
    }


def _pages(world: dict) -> list[tuple[str, str]]:
    ada = world["ada"]
    return [
        ("home", "/"),
        ("profile", f"/@{ada.handle}"),
        ("followers", f"/@{ada.handle}/followers"),
        ("following", f"/@{ada.handle}/following"),
        ("post", f"/posts/{world['hello'].pk}"),
        ("paid-post", f"/posts/{world['paid'].pk}"),
        ("notifications", "/notifications"),
        ("settings", "/settings"),
        ("search", "/search?q=ben"),
        ("search-empty", "/search?q=nobodyhere"),
        ("wallet", "/wallet"),
        ("topup", "/wallet/topup"),
        ("send", "/wallet/send"),
        ("request", "/wallet/request"),
        ("requests", "/wallet/requests"),
        ("feed", "/wallet/feed"),
        ("transfer", f"/wallet/transfers/{world['transfer'].pk}"),
        ("payment-order", f"/wallet/payments/order/{world['order'].pk}"),
        ("request-review", f"/wallet/requests/{world['taxi'].pk}/review"),
        ("orders", "/orders"),
        ("sales", "/orders?role=seller"),
        ("order", f"/orders/{world['order'].pk}"),
        ("dashboard", "/creator/dashboard"),
        ("tiers", "/creator/tiers"),
        ("memberships", "/memberships"),
        ("tip", f"/tip/{'cleo'}"),
        ("payouts", "/payouts/"),
        ("verify", "/wallet/verify"),
        ("payout-settings", "/payouts/settings"),
        ("fx", "/fx/"),
        ("fx-convert", "/fx/convert"),
        ("fx-send", "/fx/send"),
        ("email", "/accounts/email/"),
        ("password", "/accounts/password/change/"),
        ("2fa", "/accounts/2fa/"),
    ]


ANONYMOUS_PAGES = [
    ("welcome", "/"),
    ("login", "/accounts/login/"),
    ("signup", "/accounts/signup/"),
    ("password-reset", "/accounts/password/reset/"),
    ("not-found", "/no-such-page"),
    # A visitor's card checkout (the tip jar of the person the test creates).
    ("guest-tip", "/pay/guest/tip/dora"),
]


def _describe(page_name: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{page_name}] {v['impact']}: {v['id']} — {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


def _audit(page, name: str, path: str | None, base: str, view: str) -> list[str]:
    """Audit ``path`` (or the page already open when ``None``)."""
    if path is not None:
        page.goto(base + path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SHOTS / f"{name}-{view}.png", full_page=True)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations;
        }"""
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    return [_describe(f"{name} {view}", blocking)] if blocking else []


@pytest.fixture
def chromium():
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
        yield browser
        browser.close()


def _context(chromium, width: int, scheme: str, errors: list[str]):
    # The CSP forbids inline scripts; axe arrives as one, so only the audit's own context
    # lets it in. Pages' CSP is checked by the journey tests.
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True
    )
    context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
# Some thirty pages in every view, each waited for, captured and audited: over a minute
# alone, several beside the other test processes on two cores.
@pytest.mark.timeout(900)
def test_signed_in_pages_have_no_serious_violations(live_server, chromium):
    with deliver_tasks_inline():  # receipts become notifications
        world = _world()
    url = live_server.url
    problems: list[str] = []
    errors: list[str] = []
    for view, width, scheme in VIEWS:
        context = _context(chromium, width, scheme, errors)
        page = context.new_page()
        page.goto(f"{url}/accounts/login/")
        page.get_by_label("Handle or e-mail").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In", exact=True).click()
        page.wait_for_url(f"{url}/")
        for name, path in _pages(world):
            problems += _audit(page, name, path, url, view)
        # Two-factor set-up; allauth may first ask for the password again (sudo mode).
        page.goto(f"{url}/accounts/2fa/totp/activate/")
        if "reauthenticate" in page.url:
            problems += _audit(page, "reauthenticate", None, url, view)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Confirm").click()
        page.get_by_label("Authenticator code").wait_for()
        problems += _audit(page, "2fa-setup", None, url, view)
        # Money moments: the review pages before paying.
        page.goto(f"{url}/wallet/send")
        page.get_by_label("To (handle)").fill("ben")
        page.get_by_label("Amount").fill("3.00")
        page.get_by_role("button", name="Review").click()
        page.get_by_role("heading", name="Confirm payment").wait_for()
        problems += _audit(page, "send-confirm", None, url, view)
        context.close()
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_anonymous_pages_have_no_serious_violations(live_server, chromium):
    post_create(author=_person("dora", "Dora"), text="Hello world #welcome")
    problems: list[str] = []
    errors: list[str] = []
    for view, width, scheme in VIEWS:
        context = _context(chromium, width, scheme, errors)
        page = context.new_page()
        for name, path in ANONYMOUS_PAGES:
            problems += _audit(page, f"anon-{name}", path, live_server.url, view)
        context.close()
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
