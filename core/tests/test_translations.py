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


def _messages(catalog) -> dict:
    # Plural entries have a tuple of ids and of strings (the .mo reader gives lists).
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    def context(value):  # babel's .mo reader leaves msgctxt as bytes
        return value.decode() if isinstance(value, bytes) else value

    return {(context(m.context), key(m.id)): key(m.string) for m in catalog if m.id}


def test_every_german_entry_is_translated_and_none_is_fuzzy():
    catalog = _po()
    entries = [m for m in catalog if m.id]
    assert len(entries) > 200
    # A plural entry (``count``) has one string per form: each must be there.
    untranslated = [m.id for m in entries if not m.string or not all(_forms(m.string))]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert not catalog.fuzzy


def _forms(value) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_translations_keep_every_placeholder():
    for (_context, msgid), msgstr in _messages(_po()).items():
        # Every form of a plural keeps the placeholders of the English plural.
        wanted = sorted(PLACEHOLDER.findall(_forms(msgid)[-1]))
        for form in _forms(msgstr):
            assert sorted(PLACEHOLDER.findall(form)) == wanted, msgid


def test_the_committed_mo_matches_the_po():
    with (LOCALE / "django.mo").open("rb") as f:
        compiled = _messages(read_mo(f))
    assert compiled == _messages(_po()), "run `make messages` and commit django.mo"


def test_django_reads_the_catalogue():
    from django.utils import translation

    with translation.override("de"):
        assert translation.gettext("Profile saved.") == "Profil gespeichert."
