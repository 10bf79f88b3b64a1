"""Embeds creators paste into another site: a tip button and a "support me" card.

``/embed/tip/<handle>`` is an ``<iframe>`` page (``?style=button`` for the button alone).
Any site may frame it (``frame-ancestors *`` and no X-Frame-Options, on these views only);
everything else is stricter than our pages (``settings.EMBED_CSP``: no script at all, no
form). It shows only public profile data and one link that opens the tip jar in a new tab
(paying inside a frame on someone else's page would invite clickjacking, so the tip jar
itself stays unframeable). ``/embed`` gives the creator the code to paste: the iframe, and a
script-free plain link for sites that allow no iframes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET

from accounts.selectors import user_get_by_handle
from core.exceptions import NotFound

STYLES = ("card", "button")


@require_GET
@xframe_options_exempt
@csp_override(settings.EMBED_CSP)
def tip_embed(request, handle: str):
    try:
        creator = user_get_by_handle(handle=handle)
    except NotFound:
        raise Http404 from None
    style = request.GET.get("style", "card")
    ctx = {
        "creator": creator,
        "style": style if style in STYLES else "card",
        "tip_url": request.build_absolute_uri(reverse("payments:tip-jar", args=[creator.handle])),
    }
    response = render(request, "payments/links/embed_tip.html", ctx)
    # Public and the same for everyone: caches may keep it a few minutes.
    response["Cache-Control"] = "public, max-age=300"
    return response


@login_required
def embed_code_page(request):
    """The code a creator pastes into their site."""
    handle = request.user.handle
    origin = f"{request.scheme}://{request.get_host()}"
    card_src = origin + reverse("payments:embed-tip", args=[handle])
    tip_url = origin + reverse("payments:tip-jar", args=[handle])
    # The snippets are HTML code to copy, not words to translate, so they are built here
    # (shown escaped in a <textarea>); only their title and link text are translated.
    iframe = (
        '&lt;iframe src="{}" width="{}" height="{}" style="border:0" title="{}" '
        'loading="lazy"&gt;&lt;/iframe&gt;'
    )
    return render(
        request,
        "payments/links/embed_code.html",
        {
            "card_src": card_src,
            "card_code": format_html(iframe, card_src, 380, 110, _("Support me on SocialPay")),
            "button_code": format_html(
                iframe, f"{card_src}?style=button", 200, 56, _("Tip me on SocialPay")
            ),
            "link_code": format_html(
                '&lt;a href="{}"&gt;{}&lt;/a&gt;', tip_url, _("Support me on SocialPay")
            ),
        },
    )
