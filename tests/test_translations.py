"""The Russian catalog covers every UI string, keeps placeholders intact and is what the app serves.

After adding or changing English UI strings, re-extract and merge (see babel.cfg):

    pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -o academy/translations/messages.pot .
    pybabel update -i academy/translations/messages.pot -d academy/translations -l ru --no-fuzzy-matching

then translate the new entries in academy/translations/ru/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
TRANSLATIONS = ROOT / "academy" / "translations"
RU_PO = TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po"
RU_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)
# Same keywords as `pybabel extract -k _ -k gettext -k ngettext:1,2` (the defaults plus these).
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "gettext": None, "ngettext": (1, 2)}
# %(name)s style placeholders and literal %% -- both must survive translation unchanged.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def N_(message: str) -> str:
    """Marks a string for extraction without translating it (babel's default N_ keyword)."""
    return message


# Strings that reach gettext only at run time, so no extractor can see them in the code that
# translates them. babel.cfg extracts this module too, which keeps them in messages.pot and stops
# `pybabel update` from dropping them; test_dynamic_messages_cover_their_sources checks this list.
DYNAMIC_MESSAGES: tuple[str, ...] = (
    # Role names: `{{ _(user.role|capitalize) }}` in web/templates/base.html.
    N_("Student"),
    N_("Curator"),
    N_("Expert"),
    N_("Admin"),
    # Notification kind labels (notification.schemas.KINDS): `{{ _(p.label) }}` on the settings page.
    N_("Account and security"),
    N_("Announcements"),
    N_("Learning reminders"),
    N_("Homework waiting for review"),
    N_("Students at risk of dropping out"),
    N_("Reminders from your curator"),
    N_("Homework and grades"),
    N_("Answers from the coach and curators"),
    N_("Trading signals"),
    # Auth errors the pages show as `_(str(exc.detail))`: default_detail in auth/errors.py ...
    N_("Wrong email or password"),
    N_("Enter the code from your authenticator app"),
    N_("Invalid or expired token"),
    N_("Refresh token was already used; all sessions from that sign-in are revoked"),
    N_("An account with this email already exists"),
    N_("This Telegram account is linked to another user"),
    N_("Telegram sign-in data is invalid"),
    N_("Two-factor authentication is available for staff accounts"),
    N_("The authenticator code is wrong"),
    N_("The sign-in took too long; enter your password again"),
    N_("Telegram user id is out of range"),
    # ... and the literal messages raised in auth/service.py.
    N_("Current password is wrong"),
    N_("This link is invalid or has expired"),
    N_("Invalid refresh token"),
    N_("User no longer exists"),
    N_("Telegram sign-in is not configured (ACADEMY_TELEGRAM_BOT_TOKEN)"),
    N_("This account is disabled"),
    N_("Set a password before unlinking Telegram, or you could not sign in again"),
    N_("Two-factor authentication is already on; turn it off first"),
    # Course levels and lesson difficulty: `{{ _(course.level|capitalize) }}`.
    N_("Beginner"),
    N_("Intermediate"),
    N_("Advanced"),
    # Achievements (gamification.rules.ACHIEVEMENTS), shown with `tr(...)` on the progress page.
    N_("First steps"),
    N_("Complete your first lesson"),
    N_("Bookworm"),
    N_("Complete 10 lessons"),
    N_("Scholar"),
    N_("Complete 25 lessons"),
    N_("Quiz starter"),
    N_("Pass your first quiz"),
    N_("Quiz master"),
    N_("Pass 10 quizzes"),
    N_("Perfectionist"),
    N_("Get a perfect score on a quiz"),
    N_("Flawless"),
    N_("Get a perfect score on five quizzes"),
    N_("Persistent"),
    N_("Pass a quiz you failed before"),
    N_("On fire"),
    N_("Learn three days in a row"),
    N_("Week of focus"),
    N_("Learn seven days in a row"),
    N_("Habit formed"),
    N_("Learn thirty days in a row"),
    N_("Graduate"),
    N_("Complete a whole course"),
    N_("Level 5"),
    N_("Reach level 5"),
    N_("Night owl"),
    N_("Complete a lesson between midnight and 5 am"),
    N_("Early bird"),
    N_("Complete a lesson between 5 and 7 am"),
    N_("Comeback"),
    N_("Return to learning after a week away"),
    # Quiz answer problems (quiz.grading.InvalidAnswer and quiz.service), shown next to a question.
    N_("Some answers need fixing"),
    N_("Answer every question"),
    N_("Enter a number"),
    N_("Enter a number, for example 42 or 0.5"),
    N_("Enter a finite number"),
    N_("Type your answer as text"),
    N_("The answer is too long"),
    N_("Pick one of the options"),
    N_("That option does not exist"),
    # Signal outcome labels: `tr(...)` in lab/channels/_macros.html status_badge.
    N_("won"),
    N_("lost"),
    N_("expired"),
    N_("not filled"),
    N_("open"),
    N_("waiting for the next bar"),
    # The coach's stats: the topic of escalations asked outside any lesson or course.
    N_("General"),
)


def _parse_mapping(path: Path) -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    from babel.messages import frontend

    with path.open(encoding="utf-8") as f:
        if hasattr(frontend, "parse_mapping_cfg"):  # Babel >= 2.14
            return frontend.parse_mapping_cfg(f, filename=str(path))
        return frontend.parse_mapping(f)  # pragma: no cover - older Babel


@cache
def extracted_messages() -> dict[str, list[str]]:
    """msgid -> ["file:line", ...] for every string `pybabel extract -F babel.cfg` finds right now."""
    method_map, options_map = _parse_mapping(BABEL_CFG)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@cache
def ru_catalog() -> Catalog:
    with RU_PO.open("rb") as f:
        return read_po(f, locale="ru")


def _translations(message: Message) -> list[str]:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return [s or "" for s in strings]


def _is_translated(message: Message | None) -> bool:
    return message is not None and all(s.strip() for s in _translations(message))


def _placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def _messages() -> list[Message]:
    return [m for m in ru_catalog() if m.id]


def test_extraction_finds_python_and_template_strings() -> None:
    found = extracted_messages()
    sources = {loc.rsplit(":", 1)[0] for locs in found.values() for loc in locs}
    assert any(s.endswith(".py") and s.startswith("academy") for s in sources), sources
    assert any(s.endswith(".html") for s in sources), sources
    assert any(s.endswith(".txt") for s in sources), sources
    assert "Sign in" in found


def test_catalog_header() -> None:
    catalog = ru_catalog()
    headers = dict(catalog.mime_headers)
    assert headers.get("Language") == "ru"
    assert headers.get("Plural-Forms") == RU_PLURAL_FORMS
    assert catalog.num_plurals == 3


def test_every_extracted_string_is_translated() -> None:
    catalog = ru_catalog()
    missing = {
        msgid: locations
        for msgid, locations in extracted_messages().items()
        if not _is_translated(catalog.get(msgid))
    }
    assert not missing, (
        f"{len(missing)} UI string(s) have no Russian translation in {RU_PO.relative_to(ROOT)} "
        "(re-extract and update as described in babel.cfg, then translate):\n"
        + "\n".join(f"  {msgid!r}  ({', '.join(locs)})" for msgid, locs in sorted(missing.items()))
    )


def test_no_fuzzy_or_empty_entries() -> None:
    fuzzy = [m.id for m in _messages() if m.fuzzy]
    empty = [m.id for m in _messages() if not _is_translated(m)]
    assert not fuzzy, f"fuzzy entries are ignored at run time, review them: {fuzzy}"
    assert not empty, f"entries without a translation: {empty}"


def test_placeholders_survive_translation() -> None:
    wrong = []
    for message in _messages():
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        expected = _placeholders(ids[-1])
        for text in _translations(message):
            if _placeholders(text) != expected:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_translations_format_like_their_msgid() -> None:
    """Newstyle gettext in templates always applies `% kwargs`, so a stray % would break the page."""
    broken = []
    for message in _messages():
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        names = {m.group(1): 1 for m in re.finditer(r"%\((\w+)\)", ids[0])}
        try:
            ids[0] % names
        except (TypeError, ValueError, KeyError):
            continue
        for text in _translations(message):
            try:
                text % names
            except (TypeError, ValueError, KeyError) as exc:
                broken.append(f"{ids[0]!r} -> {text!r}: {exc}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("msgid", DYNAMIC_MESSAGES)
def test_dynamic_message_is_translated(msgid: str) -> None:
    message = ru_catalog().get(msgid)
    assert message is not None, f"{msgid!r} is missing from {RU_PO.relative_to(ROOT)}"
    assert _is_translated(message), f"{msgid!r} has no Russian translation"
    assert msgid in extracted_messages(), "babel.cfg must extract tests/test_translations.py"


def test_dynamic_messages_cover_their_sources() -> None:
    """A new role, notification kind or auth error message must be added to DYNAMIC_MESSAGES."""
    from academy.auth import errors as auth_errors
    from academy.auth import service as auth_service
    from academy.course.content import LEVELS
    from academy.gamification.rules import ACHIEVEMENTS
    from academy.models import Role
    from academy.notification.schemas import KINDS
    from academy.quiz import grading

    expected = {role.value.capitalize() for role in Role}  # Jinja's capitalize filter
    expected |= set(KINDS.values())
    expected |= {level.capitalize() for level in LEVELS}
    expected |= {text for a in ACHIEVEMENTS for text in (a.title, a.description)}
    for node in ast.walk(ast.parse(Path(inspect.getfile(grading)).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "InvalidAnswer" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                expected.add(first.value)
    for _name, cls in inspect.getmembers(auth_errors, inspect.isclass):
        detail = getattr(cls, "default_detail", None)
        if cls.__module__ == auth_errors.__name__ and isinstance(detail, str):
            expected.add(detail)
    tree = ast.parse(Path(inspect.getfile(auth_service)).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            first = node.exc.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                expected.add(first.value)
    missing = sorted(expected - set(DYNAMIC_MESSAGES))
    assert not missing, f"add these to DYNAMIC_MESSAGES (and translate them): {missing}"


def test_app_serves_the_russian_catalog() -> None:
    from academy.kit import i18n

    i18n.translations.cache_clear()
    msgid = "Sign in"  # a variable, so the extractor does not list this test as a source of it
    expected = ru_catalog()[msgid].string
    assert expected and expected != msgid

    token = i18n.set_locale("ru")
    try:
        assert i18n.gettext(msgid) == expected
        assert i18n.gettext(DYNAMIC_MESSAGES[0]) == ru_catalog()[DYNAMIC_MESSAGES[0]].string
    finally:
        i18n._locale.reset(token)

    token = i18n.set_locale("en")
    try:
        assert i18n.gettext(msgid) == msgid
    finally:
        i18n._locale.reset(token)
