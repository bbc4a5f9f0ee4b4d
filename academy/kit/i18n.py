"""Gettext catalogs (Babel .po files) loaded at start, and the locale of the current request."""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "ru")
LOCALE_NAMES = {"en": "English", "ru": "Русский"}
DEFAULT_LOCALE = "en"
CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


@lru_cache
def translations(locale: str) -> NullTranslations:
    po = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()
    # Compiling the .po in memory keeps binary .mo files out of git and out of the set-up steps.
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def set_locale(locale: str) -> contextvars.Token[str]:
    return _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Render in `locale` for the duration (emails and socket fragments have no request of their own)."""
    token = set_locale(locale)
    try:
        yield
    finally:
        _locale.reset(token)


def get_locale() -> str:
    return _locale.get()


def gettext(message: str) -> str:
    return translations(get_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).ngettext(singular, plural, n)


_ = gettext


def negotiate(accept_language: str | None) -> str | None:
    """Best supported locale from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return None
    choices: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        lang, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = lang.strip().lower().split("-")[0]
        if code in LOCALES:
            choices.append((q, code))
    return max(choices)[1] if choices else None
