"""Email and Telegram texts from templates, in the recipient's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from academy.kit import i18n

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def render(template_name: str, locale: str, **context: Any) -> tuple[str, str, str]:
    """(subject, text, html) of template `name` in `locale`."""
    with i18n.use_locale(locale):
        subject = _env.get_template(f"{template_name}.subject.txt").render(**context).strip()
        text = _env.get_template(f"{template_name}.txt").render(**context)
        html = _env.get_template("layout.html").render(**{**context, "body": text, "subject": subject})
    return subject, text, html


def render_text(template_name: str, locale: str, **context: Any) -> str:
    """One template in `locale`; `.html` templates are autoescaped (Telegram's HTML parse mode)."""
    with i18n.use_locale(locale):
        return _env.get_template(template_name).render(**context)
