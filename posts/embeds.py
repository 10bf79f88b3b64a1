"""Posts on other sites: an embeddable page per post and the oEmbed endpoint that points
at it (https://oembed.com), so blogs and chat apps that speak oEmbed show a post as a card.

``/embed/posts/<id>`` may be framed by any site and runs no script (``settings.EMBED_CSP``;
X-Frame-Options lifted on this view only). It shows what a visitor without an account sees
— the public text, never the locked part of a paid post — and links to the post.
``/oembed?url=<post address>`` answers JSON only (``format=xml`` is 501, as the spec says);
any address that is not one of our posts is 404."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from core.exceptions import NotFound
from posts import selectors
from posts.models import Post

EMBED_WIDTH = 520
EMBED_HEIGHT = 220
MAX_URL_LENGTH = 2048
_SIZE_MIN, _SIZE_MAX = 120, 2000


def _public_post(post_id: int) -> Post:
    try:
        return selectors.post_get(post_id=post_id, viewer=None)
    except NotFound:
        raise Http404 from None


@require_GET
@xframe_options_exempt
@csp_override(settings.EMBED_CSP)
def post_embed(request, post_id: int):
    post = _public_post(post_id)
    url = request.build_absolute_uri(reverse("posts:detail", args=[post.pk]))
    response = render(request, "posts/embed.html", {"post": post, "post_url": url})
    response["Cache-Control"] = "public, max-age=300"
    return response


def _size(value: str, default: int) -> int:
    """``maxwidth``/``maxheight``: a consumer's limit, honoured within sane bounds."""
    if value and value.isascii() and value.isdigit() and len(value) <= 5:
        return max(_SIZE_MIN, min(int(value), default, _SIZE_MAX))
    return default


@require_GET
def oembed(request):
    if request.GET.get("format", "json") != "json":
        return HttpResponse(status=501)
    raw = request.GET.get("url", "")
    if not raw or len(raw) > MAX_URL_LENGTH:
        raise Http404
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or parts.netloc != request.get_host():
        raise Http404
    try:
        match = resolve(parts.path)
    except Resolver404:
        raise Http404 from None
    if match.view_name != "posts:detail":
        raise Http404
    post = _public_post(match.kwargs["post_id"])
    width = _size(request.GET.get("maxwidth", ""), EMBED_WIDTH)
    height = _size(request.GET.get("maxheight", ""), EMBED_HEIGHT)
    origin = f"{request.scheme}://{request.get_host()}"
    src = origin + reverse("posts:embed", args=[post.pk])
    title = f"@{post.author.handle}"
    html = (
        f'<iframe src="{src}" width="{width}" height="{height}" style="border:0" '
        f'title="{title}" loading="lazy"></iframe>'
    )
    return JsonResponse(
        {
            "version": "1.0",
            "type": "rich",
            "provider_name": "SocialPay",
            "provider_url": origin + "/",
            "author_name": post.author.name,
            "author_url": origin + reverse("posts:profile", args=[post.author.handle]),
            "title": (post.text or "")[:100],
            "html": html,
            "width": width,
            "height": height,
            "cache_age": 300,
        }
    )
