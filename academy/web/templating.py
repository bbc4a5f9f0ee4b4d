"""Page rendering: whole pages, or just the named block an HTMX request asks for."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup

from academy.config import get_settings
from academy.integrations.storage import storage
from academy.kit import i18n
from academy.models import Role

TEMPLATES_DIR = Path(__file__).parent / "templates"
CSRF_COOKIE = "academy_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Blocks(env=env)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def csrf_token(request: Request) -> str:
    """The double-submit token for this browser: from its cookie, or a new one the response will set."""
    token = getattr(request.state, "csrf_token", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def local_time(value: datetime | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)


def csrf_field(token: str) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def csrf_input(request: Request) -> Markup:
    return csrf_field(csrf_token(request))


def media_url(key: str) -> str:
    return storage().url(key)


env.filters["local_time"] = local_time
env.globals.update(
    csrf_input=csrf_input,
    csrf_token=csrf_token,
    media_url=media_url,
    # Translate a string that came from code or data: no %-formatting, so a literal % is safe.
    tr=i18n.gettext,
    LOCALES=i18n.LOCALE_NAMES,
    Role=Role,
    get_locale=i18n.get_locale,
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "settings": get_settings(),
        "locale": i18n.get_locale(),
        "unread": getattr(request.state, "unread", 0),
        **(context or {}),
    }
    if block:
        return templates.TemplateResponse(request, template, ctx, block_name=block, status_code=status_code)
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page_renderer(helpers: Callable[[Any], dict[str, Any]]) -> Callable[..., Response]:
    """`render` with a page area's per-viewer helpers (time zone, formatters) added to the context."""

    def page(
        request: Request,
        user: Any,
        template: str,
        context: dict[str, Any],
        *,
        block: str | None = None,
        status_code: int = 200,
    ) -> Response:
        return render(request, template, helpers(user) | context, block=block, status_code=status_code)

    return page
