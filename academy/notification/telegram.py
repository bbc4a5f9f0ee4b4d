"""Telegram texts: built from templates in the recipient's language, previewed the way Telegram shows them."""

from __future__ import annotations

import nh3

from academy.notification import emails

# What Telegram's HTML parse mode understands; anything else would be shown as text or rejected.
_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote",
    "tg-spoiler", "span",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href"}}
# A notification body may be 5000 characters and a Telegram message only 4096.
BODY_LIMIT = 3000


def notification_text(locale: str, *, title: str, body: str, link: str | None) -> str:
    if len(body) > BODY_LIMIT:
        body = body[: BODY_LIMIT - 1].rstrip() + "…"
    return emails.render_text("notification.tg.html", locale, title=title, body=body, link=link).strip()


def preview(text: str) -> str:
    """The message as safe HTML for a page: only Telegram's tags survive, links open elsewhere."""
    return nh3.clean(
        text,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        allowed_classes={"span": {"tg-spoiler"}},
        url_schemes={"http", "https", "tg", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
