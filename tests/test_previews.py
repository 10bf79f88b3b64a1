"""Link previews and what crawlers see: Open Graph and Twitter card tags parsed per page
type (profile, post, paid post, payment link, product) with the locked text absent;
``noindex`` for people who opted out of search and for payment links; the Atom feed of a
person's public posts; ``robots.txt`` and the sitemap."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.test import Client

from accounts.services import user_update_profile
from core.money import Money
from payments.creators import services as creators
from payments.creators.tests.factories import make_post, make_user
from payments.links import services as links

pytestmark = pytest.mark.django_db

SECRET = "the-locked-part-nobody-sees-unpaid"
ATOM = "{http://www.w3.org/2005/Atom}"


class _Head(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content", "")
        elif tag == "link":
            self.links.append(attrs)


def head_of(html: str) -> _Head:
    parser = _Head()
    parser.feed(html.split("</head>")[0])
    return parser


def assert_preview(head: _Head, *, url: str, title_part: str, description: str):
    for key in ("og:title", "og:description", "og:url", "og:type", "og:site_name"):
        assert head.meta.get(key), key
    assert head.meta["twitter:card"] == "summary"
    assert title_part in head.meta["og:title"] == head.meta["twitter:title"]
    assert head.meta["og:description"] == head.meta["twitter:description"] == description
    assert head.meta["og:url"] == f"http://testserver{url}"


def paid_post(author):
    return creators.paid_post_create(
        author=author, text="Public teaser", locked_text=SECRET, price=Money(300, "USD")
    )


def test_profile_preview_and_feed_link():
    author = make_user()
    user_update_profile(user=author, display_name="Ana Maker", bio="I draw cats.")
    html = Client().get(f"/@{author.handle}").content.decode()
    head = head_of(html)
    assert_preview(
        head, url=f"/@{author.handle}", title_part="Ana Maker", description="I draw cats."
    )
    assert head.meta["og:type"] == "profile" and "robots" not in head.meta
    feeds = [x for x in head.links if x.get("type") == "application/atom+xml"]
    assert feeds and feeds[0]["href"] == f"/@{author.handle}/feed.atom"


def test_post_previews_never_carry_the_locked_text():
    author, fan = make_user(), make_user()
    plain = make_post(author, "Hello world")
    paid = paid_post(author)
    head = head_of(Client().get(f"/posts/{plain.pk}").content.decode())
    assert_preview(
        head, url=f"/posts/{plain.pk}", title_part=author.handle, description="Hello world"
    )
    for client in (Client(), _logged_in(fan), _logged_in(author)):
        html = client.get(f"/posts/{paid.pk}").content.decode()
        head = head_of(html)
        assert head.meta["og:description"] == "Public teaser"
        assert SECRET not in html.split("</head>")[0]
    assert SECRET not in Client().get(f"/posts/{paid.pk}").content.decode()


def test_payment_link_preview_is_noindex():
    owner = make_user()
    link = links.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(500, "USD"), note="Zine #3"
    )
    head = head_of(Client().get(f"/links/{link.slug}").content.decode())
    assert_preview(head, url=f"/links/{link.slug}", title_part=owner.handle, description="Zine #3")
    assert head.meta["robots"] == "noindex"


def test_product_preview():
    seller, buyer = make_user(), make_user()
    post = make_post(seller, "Shop post")
    product = creators.product_create(
        seller=seller,
        post_id=post.pk,
        title="Sticker pack",
        description="Ten vinyl stickers.",
        price=Money(800, "USD"),
        stock=5,
        kind="physical",
    )
    head = head_of(_logged_in(buyer).get(f"/products/{product.pk}/buy").content.decode())
    assert_preview(
        head,
        url=f"/products/{product.pk}/buy",
        title_part="Sticker pack",
        description="Ten vinyl stickers.",
    )


def test_opted_out_people_are_noindex_and_left_out_of_the_sitemap():
    shy, open_ = make_user(), make_user()
    shy_post, open_post = make_post(shy, "quiet"), make_post(open_, "loud")
    user_update_profile(user=shy, search_indexing=False)
    for path in (f"/@{shy.handle}", f"/posts/{shy_post.pk}"):
        assert head_of(Client().get(path).content.decode()).meta["robots"] == "noindex"
    assert "robots" not in head_of(Client().get(f"/posts/{open_post.pk}").content.decode()).meta
    index = Client().get("/sitemap.xml")
    assert index.status_code == 200
    urls = []
    for loc in ET.fromstring(index.content).iter(
        "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"
    ):
        section = Client().get(loc.text.replace("http://testserver", ""))
        assert section.status_code == 200
        urls += [
            u.text
            for u in ET.fromstring(section.content).iter(
                "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"
            )
        ]
    assert f"http://testserver/@{open_.handle}" in urls
    assert f"http://testserver/posts/{open_post.pk}" in urls
    assert f"http://testserver/@{shy.handle}" not in urls
    assert f"http://testserver/posts/{shy_post.pk}" not in urls


def test_the_opt_out_is_a_setting_on_the_page_and_the_api():
    from payments.creators.tests.factories import api_for

    person = make_user()
    client = _logged_in(person)
    assert 'name="search_indexing"' in client.get("/settings").content.decode()
    client.post("/settings", {"display_name": "", "bio": "", "link": "", "language": ""})
    person.refresh_from_db()
    assert person.search_indexing is False  # an unticked box is an opt-out
    api = api_for(person)
    assert api.patch("/api/v1/me", {"search_indexing": True}, format="json").json()[
        "search_indexing"
    ]
    bad = api.patch("/api/v1/me", {"search_indexing": "maybe"}, format="json")
    assert bad.status_code == 400


def test_atom_feed_of_public_posts_without_locked_text():
    author = make_user()
    make_post(author, "First line\nsecond line")
    paid_post(author)
    got = Client().get(f"/@{author.handle}/feed.atom")
    assert got.status_code == 200 and got["Content-Type"].startswith("application/atom+xml")
    assert SECRET.encode() not in got.content
    feed = ET.fromstring(got.content)
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert titles == ["Public teaser", "First line"]
    assert Client().get("/@nobody_at_all_here/feed.atom").status_code == 404


def test_robots_txt_points_at_the_sitemap_and_keeps_private_areas_out():
    got = Client().get("/robots.txt")
    body = got.content.decode()
    assert got.status_code == 200 and got["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in body
    for path in ("/wallet", "/api/", "/links", "/admin/"):
        assert f"Disallow: {path}" in body


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
