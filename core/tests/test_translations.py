"""The German catalogue: complete, not fuzzy, placeholders intact, and the committed
compiled ``django.mo`` (what Django reads) holds exactly what the ``.po`` says, so a fresh
machine without GNU gettext serves the current translations."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0]) / "de" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|\{\w+\}")


def _po():
    with (LOCALE / "django.po").open("rb") as f:
        return read_po(f)


def _messages(catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog if m.id}


def test_every_german_entry_is_translated_and_none_is_fuzzy():
    catalog = _po()
    entries = [m for m in catalog if m.id]
    assert len(entries) > 200
    untranslated = [m.id for m in entries if not m.string]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert not catalog.fuzzy


def test_translations_keep_every_placeholder():
    for msgid, msgstr in _messages(_po()).items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_the_committed_mo_matches_the_po():
    with (LOCALE / "django.mo").open("rb") as f:
        compiled = _messages(read_mo(f))
    assert compiled == _messages(_po()), "run `make messages` and commit django.mo"


def test_django_reads_the_catalogue():
    from django.utils import translation

    with translation.override("de"):
        assert translation.gettext("Profile saved.") == "Profil gespeichert."
