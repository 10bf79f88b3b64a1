"""Every word a person can see in a template is marked for translation.

Reads the source of every project template, removes what is not shown as written (template
comments, ``{% %}`` and ``{{ }}`` tags — so also everything inside ``{% translate %}`` —,
the bodies of ``{% blocktranslate %}``, ``<script>`` and ``<style>``), then walks the
remaining HTML: any text node, or any attribute that people read or hear (``aria-label``,
``placeholder``, ``alt``, ``title``, a button's ``value``), that still holds a letter is
English that German readers would see untranslated.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SKIP_DIRS = {".venv", ".data", "node_modules", "staticfiles", "static"}

# Words that are the same in every language, so they need no translation:
ALLOWED_WORDS = {
    "SocialPay",  # the brand name
    *settings.SUPPORTED_CURRENCIES,  # ISO currency codes (USD, EUR...), shown as codes
}

COMMENT = re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|\{#.*?#\}", re.S)
BLOCKTRANSLATE = re.compile(
    r"\{%\s*blocktrans(?:late)?\b.*?%\}.*?\{%\s*endblocktrans(?:late)?\s*%\}", re.S
)
TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
RAW = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
LETTER = re.compile(r"[^\W\d_]")
READ_ATTRIBUTES = {"aria-label", "placeholder", "alt", "title"}


def templates() -> list[Path]:
    found = []
    for path in ROOT.rglob("*.html"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP_DIRS or "templates" not in parts:
            continue
        found.append(path)
    return sorted(found)


def visible_source(source: str) -> str:
    source = COMMENT.sub(" ", source)
    source = BLOCKTRANSLATE.sub(" ", source)
    source = TAG.sub(" ", source)
    return RAW.sub(" ", source)


def has_words(text: str) -> bool:
    words = re.findall(r"[^\W\d_][\w-]*", text)
    return any(w not in ALLOWED_WORDS for w in words) and bool(LETTER.search(text))


class _Untranslated(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            is_button_text = tag == "input" and attributes.get("type") in ("submit", "button")
            readable = name in READ_ATTRIBUTES or (name == "value" and is_button_text)
            if readable and value and has_words(value):
                self.found.append(f'<{tag} {name}="{value.strip()}">')

    def handle_data(self, data):
        if has_words(data):
            self.found.append(" ".join(data.split()))


def untranslated(source: str) -> list[str]:
    parser = _Untranslated()
    parser.feed(visible_source(source))
    parser.close()
    return parser.found


def test_the_checker_finds_plain_text_and_attributes_but_not_marked_strings():
    source = (
        '{% load i18n %}<h1>Hello</h1><p>{% translate "Fine" %} {{ name }}</p>'
        '<input placeholder="e.g. 7.50"><img alt="{% translate \'Ok\' %}">'
        "{% blocktranslate trimmed %}Also <b>fine</b> {{ x }}{% endblocktranslate %}"
        "{# A comment #}<script>let words = 1;</script><p>SocialPay · EUR 12</p>"
    )
    assert untranslated(source) == ["Hello", '<input placeholder="e.g. 7.50">']


def test_every_template_marks_its_visible_text():
    assert len(templates()) > 60
    problems = {
        str(path.relative_to(ROOT)): found
        for path in templates()
        if (found := untranslated(path.read_text()))
    }
    assert problems == {}
