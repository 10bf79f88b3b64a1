"""A payment's detail page and the review before paying a request, in headless Chromium on
a phone (390 px) and a desktop (1280 px), in English and German: nothing is wider than the
screen, the page's main action is visible without scrolling on a phone, German pages keep
no English labels, and confirming the review (even with a double click) pays once.
Screenshots land in artifacts/screenshots/payments/ for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from payments.creators.models import Order, Tip
from payments.fx.tests.support import deliver_tasks_inline
from payments.wallets.models import MoneyRequest, Transfer
from payments.wallets.selectors import payment_detail_url
from tests.browser.test_accessibility import _world
from tests.browser.test_responsive import _sign_in, chromium  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots" / "payments"
WIDTHS = [("phone", 390, 844), ("desktop", 1280, 900)]
# English words that must not be left on the German pages.
ENGLISH = {
    "detail": ["Receipt number", "Report a problem", "Amount", "Net", "Completed", "Date"],
    "review": ["Review the request", "Your balance after paying", "Amount", "Pay $8.00", "Total"],
}


def _check(page, name: str, path: str, action: str, view: str, lang: str) -> list[str]:
    problems = []
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SHOTS / f"{name}-{view}-{lang}.png", full_page=True)
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > inner:
        problems.append(f"{name} {view} {lang}: {width}px wide in a {inner}px window")
    if view == "phone" and not page.locator(action).first.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " const bar = document.querySelector('.tabbar').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= bar.top && r.width > 0; }"
    ):
        problems.append(f"{name} {view} {lang}: the main action is below the fold")
    if lang == "de":
        text = page.locator("main").inner_text()
        left = [w for w in ENGLISH[name.split("-")[0]] if w in text.split()]
        left += [w for w in ENGLISH[name.split("-")[0]] if " " in w and w in text]
        if left:
            problems.append(f"{name} {view} {lang}: English left: {sorted(set(left))}")
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_detail_pages_and_the_request_review_fit_and_pay_once(live_server, chromium):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    with deliver_tasks_inline():
        world = _world()
    ada = world["ada"]
    request = MoneyRequest.objects.get(payer=ada, note="taxi")
    pages = [
        (
            "detail-transfer",
            payment_detail_url("transfer", world["transfer"].pk),
            ".payment-actions a",
        ),
        (
            "detail-tip",
            payment_detail_url("tip", Tip.objects.get(creator=ada).pk),
            ".payment-actions a",
        ),
        (
            "detail-order",
            payment_detail_url("order", Order.objects.get(buyer=ada).pk),
            ".payment-actions a",
        ),
        ("review-request", f"/wallet/requests/{request.pk}/review", ".confirm button[type=submit]"),
    ]
    problems: list[str] = []
    for lang in ("en", "de"):
        context = chromium.new_context(base_url=live_server.url)
        page = context.new_page()
        _sign_in(page, live_server.url)
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        for view, width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            for name, path, action in pages:
                problems += _check(page, name, path, action, view, lang)
        context.close()
    assert problems == []

    # Confirm the review with a double click: one payment, and its detail page.
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in(page, live_server.url)
    page.goto(f"/wallet/requests/{request.pk}/review")
    page.locator(".confirm button[type=submit]").dblclick()
    page.wait_for_url(f"{live_server.url}/wallet/transfers/*")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SHOTS / "paid-request-phone-en.png", full_page=True)
    request.refresh_from_db()
    assert request.status == "paid"
    assert Transfer.objects.filter(sender=ada, client_key=f"request:{request.pk}").count() == 1
    # The world's earlier payment to Ben, and this one: nothing paid twice.
    assert Transfer.objects.filter(sender=ada, recipient=request.requester).count() == 2
    assert "taxi" in page.locator("main").inner_text()
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_style_guide_fits_phones_and_desktops(live_server, chromium):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    with deliver_tasks_inline():
        world = _world()
    world["ada"].is_staff = True
    world["ada"].save(update_fields=["is_staff"])
    problems = []
    for lang in ("en", "de"):
        context = chromium.new_context(base_url=live_server.url)
        page = context.new_page()
        _sign_in(page, live_server.url)
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        for view, width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            page.goto("/styleguide")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=SHOTS / f"styleguide-{view}-{lang}.png", full_page=True)
            width_seen, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if width_seen > inner:
                problems.append(f"styleguide {view} {lang}: {width_seen}px in {inner}px")
            # The token samples are styled by /styleguide.css: a swatch has its colour.
            colour = page.locator(".sg--sp-positive").first.evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            if colour in ("", "rgba(0, 0, 0, 0)"):
                problems.append(f"styleguide {view} {lang}: swatches without colour")
        context.close()
    assert problems == []
