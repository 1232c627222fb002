"""The gettext catalogs of the shipped languages.

The ``.po`` files are the source (translators edit them); the layer's build compiles each to ``.mo`` next to it.
Where no ``.mo`` is present (a checkout, the tests, the local stack) the ``.po`` is compiled in memory on first
use, so the two can never disagree about what a message says. English is the source language: its catalog is
empty and every msgid is its own text.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Languages with a catalog; the layer keeps Babel's CLDR data of these (and their regional variants) only.
SHIPPED_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "he", "ja")


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(SHIPPED_LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language`` (one of SHIPPED_LANGUAGES)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    compiled = po_path(language).with_suffix(".mo")
    if compiled.exists():
        with compiled.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path(language).open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
