"""QR codes of profiles, tip jars and payment links: SVG and PNG, decodable to the page's
absolute address, downloadable, shown on the pages; unknown targets are 404."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.creators.tests.factories import make_user
from payments.links import services
from payments.links.qr import qr_svg

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _targets():
    owner = make_user()
    link = services.link_create(owner=owner, kind="fixed", currency="USD", amount=Money(500, "USD"))
    return [
        ("profile", owner.handle, f"/@{owner.handle}"),
        ("tip", owner.handle, f"/tip/{owner.handle}"),
        ("link", link.slug, f"/links/{link.slug}"),
    ]


def test_every_target_has_an_svg_and_a_png_that_encode_its_address():
    client = Client()
    for kind, key, _path in _targets():
        svg = client.get(f"/qr/{kind}/{key}.svg")
        assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
        assert svg.content.lstrip().startswith(b"<svg") and b"<script" not in svg.content
        png = client.get(f"/qr/{kind}/{key}.png?download=1")
        assert png.status_code == 200 and png.content.startswith(PNG_MAGIC)
        assert png["Content-Disposition"] == f'attachment; filename="socialpay-{kind}-qr.png"'
        # The same address, encoded the same way, gives the same symbol.
        url = f"http://testserver{_path}"
        assert svg.content == qr_svg(url, title=url)


@pytest.mark.parametrize(
    "path",
    ["/qr/profile/nobody_here.svg", "/qr/link/nope.png", "/qr/post/1.svg", "/qr/tip/x.gif"],
)
def test_unknown_targets_are_404(path):
    assert Client().get(path).status_code == 404


def test_pages_show_the_codes_and_their_downloads():
    owner, fan = make_user(), make_user()
    link = services.link_create(owner=owner, kind="fixed", currency="USD", amount=Money(500, "USD"))
    client = Client()
    client.force_login(fan)
    link_page = client.get(f"/links/{link.slug}").content.decode()
    assert f'src="/qr/link/{link.slug}.svg"' in link_page
    assert f'href="/qr/link/{link.slug}.png?download=1"' in link_page
    tip_page = client.get(f"/tip/{owner.handle}").content.decode()
    assert f'src="/qr/tip/{owner.handle}.svg"' in tip_page
    profile = client.get(reverse_profile(owner)).content.decode()
    assert f'src="/qr/profile/{owner.handle}.svg"' in profile


def reverse_profile(user) -> str:
    from django.urls import reverse

    return reverse("posts:profile", args=[user.handle])
