"""Every main page, with its style sheets and scripts, transfers under 150 KB (images aside).

A page is requested as a signed-in demo person in a demo world grown with
``seed_demo_volume`` (so lists are full-ish), as a browser asks for it
(``Accept-Encoding: gzip``). Its assets are the ``<link rel="stylesheet">`` and
``<script src>`` it names, plus data its scripts fetch on load (a ``data-url``, an htmx
``hx-get`` triggered on ``load``). The thread on the post page and the hashtag search are
filled to the most posts they show.

Pages are gzipped by Django's ``GZipMiddleware`` (the document's bytes are what it sends).

Assets are measured as production serves them: WhiteNoise's
``CompressedManifestStaticFilesStorage`` writes a ``.gz`` beside every compressible file at
``collectstatic`` and serves it to browsers that accept gzip. Running ``collectstatic``
with the production storage in a test would compress every vendored file (the 650 KB axe
build included) on each run, so the test asks WhiteNoise's own compressor for the bytes it
would write instead: the same code (gzip level 9, kept only when it saves 5 %), the same
answer. Brotli is not installed, so gzip is what is served.
"""

from __future__ import annotations

import gzip
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from whitenoise.compress import Compressor

from accounts.models import User
from payments.fx.services import fx_rates_refresh
from posts.models import Post
from posts.selectors import HASHTAG_SEARCH_MAX
from posts.services import post_create

pytestmark = pytest.mark.django_db

BUDGET = 150 * 1024
FANS = 12

# (name, viewer, path); a path may name a post by a key filled in by ``_post_ids``.
PAGES = [
    ("home timeline", "alice", "/"),
    ("profile", "alice", "/@carol"),
    ("post with thread", "alice", "/posts/{alice_first}"),
    ("post with tips", "alice", "/posts/{carol_first}"),
    ("wallet", "alice", "/wallet"),
    ("requests inbox", "alice", "/wallet/requests"),
    ("notifications", "alice", "/notifications"),
    ("currencies", "alice", "/fx/"),
    ("search", "alice", "/search?q=%23bread"),
    ("settings", "alice", "/settings"),
    ("creator dashboard", "carol", "/creator/dashboard"),
    ("payouts", "carol", "/payouts/"),
]


class _Assets(HTMLParser):
    """Style sheets, scripts and on-load fetches named by a page."""

    def __init__(self):
        super().__init__()
        self.static: list[str] = []
        self.fetched: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and "stylesheet" in (a.get("rel") or "").split():
            self.static.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.static.append(a["src"])
        if a.get("data-url"):
            self.fetched.append(a["data-url"])
        if a.get("hx-get") and "load" in (a.get("hx-trigger") or ""):
            self.fetched.append(a["hx-get"])


def _served_size(url: str) -> int:
    """Bytes WhiteNoise sends for a static URL to a browser accepting gzip."""
    from django.conf import settings

    assert url.startswith(settings.STATIC_URL), url
    name = url.removeprefix(settings.STATIC_URL).split("?")[0]
    path = finders.find(name)
    assert path, f"{url} is not a static file"
    data = Path(path).read_bytes()
    compressor = Compressor(quiet=True)
    if compressor.should_compress(name):
        gz = compressor.compress_gzip(data)
        if compressor.is_compressed_effectively("Gzip", name, len(data), gz):
            return len(gz)
    return len(data)


def _body(response) -> tuple[int, bytes]:
    """(bytes on the wire, the decoded body)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Encoding") == "gzip":
        return len(body), gzip.decompress(body)
    return len(body), body


def _post_ids() -> dict[str, int]:
    first = Post.objects.filter(reply_to__isnull=True).order_by("id")
    return {
        "alice_first": first.filter(author__handle="alice").values_list("id", flat=True)[0],
        "carol_first": first.filter(author__handle="carol").values_list("id", flat=True)[0],
    }


def _fill_the_thread() -> None:
    """Full pages: a thread with more replies than the post page shows, every reply tagged
    so that the hashtag search shows as many posts as it ever does."""
    alice = User.objects.get(handle="alice")
    root = _post_ids()["alice_first"]
    for i in range(HASHTAG_SEARCH_MAX):
        post_create(
            author=alice, text=f"Crumb shot number {i}, still warm. #bread", reply_to_id=root
        )


def page_weights() -> dict[str, dict[str, int]]:
    """Per page: bytes of the document, of its static assets, of its on-load fetches."""
    ids = _post_ids()
    clients: dict[str, Client] = {}
    weights = {}
    for name, viewer, path in PAGES:
        if viewer not in clients:
            clients[viewer] = Client(HTTP_ACCEPT_ENCODING="gzip, deflate, br")
            clients[viewer].force_login(User.objects.get(handle=viewer))
        client = clients[viewer]
        response = client.get(path.format(**ids))
        assert response.status_code == 200, (name, response.status_code)
        document, html = _body(response)
        parser = _Assets()
        parser.feed(html.decode())
        fetched = 0
        for url in parser.fetched:
            answer = client.get(url)
            assert answer.status_code == 200, (name, url)
            fetched += _body(answer)[0]
        print(f"{name:20} HTML {len(html) / 1024:6.1f} KB before gzip")
        weights[name] = {
            "document": document,
            "assets": sum(_served_size(url) for url in parser.static),
            "fetched": fetched,
        }
    return weights


def test_every_main_page_transfers_under_150_kb(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    call_command("seed_demo_volume", fans=FANS, stdout=io.StringIO())
    fx_rates_refresh()
    _fill_the_thread()
    weights = page_weights()
    for name, w in weights.items():
        total = sum(w.values())
        print(f"{name:20} {total / 1024:6.1f} KB  {w}")
    over = {name: sum(w.values()) for name, w in weights.items() if sum(w.values()) > BUDGET}
    assert over == {}
    # The measurement itself: every page has its style sheets, the dashboard its chart.
    assert all(w["assets"] > 10_000 for w in weights.values())
    assert weights["creator dashboard"]["fetched"] > 0
