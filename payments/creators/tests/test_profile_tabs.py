"""A creator's profile tabs: Posts (the default), Shop (their products for sale, newest
first, with Buy or Buy by card) and Memberships (tiers with price, perks and Join), shown
only when they have content, as links that work without JavaScript, the open one marked
with aria-current, and with htmx only the panel swapped."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core.money import Money
from payments.creators import services
from payments.creators.models import Product
from payments.creators.tests.factories import make_post, make_user

pytestmark = pytest.mark.django_db


def _sell(seller, title: str, *, stock: int = 5, price: int = 1500):
    post = make_post(seller, text=f"New in the shop: {title}")
    return services.product_create(
        seller=seller,
        post_id=post.pk,
        title=title,
        description="32 pages, risograph",
        price=Money(price, "USD"),
        stock=stock,
        kind="digital",
        delivery_url="https://example.com/zine.pdf",
    )


def _tier(creator, name: str = "Gold", price: int = 500, perks: str = "The print files"):
    return services.tier_create(creator=creator, name=name, price=Money(price, "USD"), perks=perks)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _tabs(html: str) -> str:
    start = html.index('<nav class="profile-tabs"')
    return html[start : html.index("</nav>", start)]


def test_a_person_with_nothing_to_sell_has_no_tabs_only_posts():
    person = make_user()
    make_post(person, text="just posting")
    html = Client().get(f"/@{person.handle}").content.decode()
    assert 'class="profile-tabs"' not in html
    assert "just posting" in html


def test_only_tabs_with_content_are_shown_and_posts_is_the_default():
    seller, creator = make_user(), make_user()
    _sell(seller, "Ledger zine")
    _tier(creator)
    shop_only = _tabs(Client().get(f"/@{seller.handle}").content.decode())
    assert f'href="/@{seller.handle}?tab=shop"' in shop_only
    assert "tab=memberships" not in shop_only
    posts = re.search(r"<a [^>]*>Posts</a>", shop_only).group(0)
    assert f'href="/@{seller.handle}"' in posts and 'aria-current="page"' in posts
    tiers_only = _tabs(Client().get(f"/@{creator.handle}").content.decode())
    assert "tab=memberships" in tiers_only and "tab=shop" not in tiers_only


def test_the_shop_tab_lists_products_newest_first_with_buy_for_a_signed_in_person():
    seller, fan = make_user(), make_user()
    older = _sell(seller, "Ledger zine")
    newer = _sell(seller, "Cat print", stock=0, price=2500)
    withdrawn = _sell(seller, "Withdrawn")
    # No service takes a product off sale yet: set the flag a future one would set.
    Product.objects.filter(pk=withdrawn.pk).update(is_active=False)
    html = _signed_in(fan).get(f"/@{seller.handle}?tab=shop").content.decode()
    assert 'aria-current="page">Shop</a>' in _tabs(html)
    assert html.index("Cat print") < html.index("Ledger zine")
    assert "$15.00" in html and "5 left" in html and "$25.00" in html and "sold out" in html
    assert f'href="/products/{older.pk}/buy"' in html
    assert f'href="/products/{newer.pk}/buy"' not in html  # sold out
    assert "Withdrawn" not in html
    assert 'id="timeline"' not in html  # the posts are on their own tab


def test_a_visitor_buys_by_card_and_the_seller_sees_no_buy_on_their_own_shop():
    seller = make_user()
    product = _sell(seller, "Ledger zine")
    visitor = Client().get(f"/@{seller.handle}?tab=shop").content.decode()
    assert f'href="/pay/guest/product/{product.pk}"' in visitor and "Buy by card" in visitor
    own = _signed_in(seller).get(f"/@{seller.handle}?tab=shop").content.decode()
    assert "Ledger zine" in own and f"/products/{product.pk}/buy" not in own


def test_the_memberships_tab_shows_price_perks_and_join():
    creator, fan = make_user(), make_user()
    gold = _tier(creator, "Gold", 1000, "Print files\nA zine a month")
    silver = _tier(creator, "Silver", 300, "")
    html = _signed_in(fan).get(f"/@{creator.handle}?tab=memberships").content.decode()
    assert 'aria-current="page">Memberships</a>' in _tabs(html)
    assert html.index("Silver") < html.index("Gold")  # cheapest first
    assert "$10.00</span> a month" in html and "Print files<br>A zine a month" in html
    assert f'href="/memberships/join/{gold.pk}"' in html
    assert f'href="/memberships/join/{silver.pk}"' in html
    visitor = Client().get(f"/@{creator.handle}?tab=memberships").content.decode()
    assert f"/accounts/login/?next=/memberships/join/{gold.pk}" in visitor
    assert "Log in to join" in visitor
    own = _signed_in(creator).get(f"/@{creator.handle}?tab=memberships").content.decode()
    assert "Gold" in own and f'href="/memberships/join/{gold.pk}"' not in own


def test_a_tab_without_content_or_unknown_shows_the_posts():
    person = make_user()
    make_post(person, text="just posting")
    for tab in ("shop", "memberships", "nonsense"):
        html = Client().get(f"/@{person.handle}?tab={tab}").content.decode()
        assert "just posting" in html


def test_with_htmx_only_the_tabs_and_the_panel_come_back():
    seller = make_user()
    _sell(seller, "Ledger zine")
    response = Client().get(
        f"/@{seller.handle}?tab=shop", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="profile-panel"
    )
    html = response.content.decode()
    assert "Ledger zine" in html and 'aria-current="page">Shop</a>' in html
    assert "<html" not in html and "profile-head" not in html


def test_german_labels():
    seller = make_user()
    _sell(seller, "Ledger zine")
    _tier(seller)
    client = Client(headers={"accept-language": "de"})
    tabs = _tabs(client.get(f"/@{seller.handle}").content.decode())
    assert ">Beiträge</a>" in tabs and ">Shop</a>" in tabs and ">Mitgliedschaften</a>" in tabs
    html = client.get(f"/@{seller.handle}?tab=memberships").content.decode()
    assert "im Monat" in html and "Zum Beitreten anmelden" in html


def test_the_shop_pages_older_products_by_a_link(monkeypatch):
    from payments.creators import selectors

    monkeypatch.setattr(selectors, "SHOP_PRODUCTS_MAX", 2)
    seller = make_user()
    first, second, third = (_sell(seller, f"Print no. {n}") for n in (1, 2, 3))
    html = Client().get(f"/@{seller.handle}?tab=shop").content.decode()
    assert "Print no. 3" in html and "Print no. 2" in html and "Print no. 1" not in html
    assert html.index(f"/pay/guest/product/{third.pk}") < html.index(
        f"/pay/guest/product/{second.pk}"
    )
    assert f'href="/@{seller.handle}?tab=shop&amp;before={second.pk}"' in html
    older = Client().get(f"/@{seller.handle}?tab=shop&before={second.pk}").content.decode()
    assert (
        f"/pay/guest/product/{first.pk}" in older
        and "Print no. 2" not in older
        and "Older products" not in older
    )
    # With htmx the link swaps the panel, not the posts' infinite scroll.
    swapped = (
        Client()
        .get(
            f"/@{seller.handle}?tab=shop&before={second.pk}",
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="profile-panel",
        )
        .content.decode()
    )
    assert "Print no. 1" in swapped and 'aria-current="page">Shop</a>' in swapped
