"""Turn a post's plain text into safe HTML: links, @mentions and #hashtags.

The text is tokenised first and every piece of it is HTML-escaped, so nothing a person
types can become markup; only the anchors built here exist. nh3 then cleans the result
against an allow-list (``a`` with ``href``, ``br``) as a second, independent line of
defence, and adds ``rel="noopener noreferrer nofollow ugc"`` to every link.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import nh3
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})\b")
HASHTAG_RE = re.compile(r"(?<![\w#&])#([A-Za-z0-9_]{1,50})\b")
URL_RE = re.compile(r"\bhttps?://[^\s<>\"'`]{1,2000}", re.IGNORECASE)
_TOKEN_RE = re.compile(f"{URL_RE.pattern}|{MENTION_RE.pattern}|{HASHTAG_RE.pattern}", re.I)
_TRAILING_PUNCTUATION = ".,:;!?)]}'\""


def mentioned_handles(text: str) -> list[str]:
    """Handles mentioned in ``text``, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def _link(href: str, label: str) -> str:
    return f'<a href="{escape(href)}">{escape(label)}</a>'


def render_post_text(text: str) -> SafeString:
    out: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(text):
        out.append(escape(text[position : match.start()]))
        token = match.group(0)
        trailing = ""
        if token.lower().startswith(("http://", "https://")):
            while token and token[-1] in _TRAILING_PUNCTUATION:
                trailing = token[-1] + trailing
                token = token[:-1]
            out.append(_link(token, token if len(token) <= 60 else token[:57] + "…"))
        elif token.startswith("@"):
            out.append(_link(reverse("posts:profile", args=[token[1:].lower()]), token))
        else:
            out.append(_link(reverse("posts:search") + "?q=" + quote(token), token))
        out.append(escape(trailing))
        position = match.end()
    out.append(escape(text[position:]))
    html = "".join(out).replace("\n", "<br>")
    cleaned = nh3.clean(
        html,
        tags={"a", "br"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow ugc",
    )
    return mark_safe(cleaned)  # noqa: S308 - escaped piece by piece above, then cleaned by nh3
