"""Development helpers. They answer 404 in production."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from academy.auth.access import public
from academy.config import get_settings
from academy.kit.deps import UoW
from academy.kit.errors import NotFound
from academy.kit.pagination import PageParams
from academy.models import User
from academy.notification.service import notification_service
from academy.web.templating import render

router = APIRouter(prefix="/dev")
Anyone = Annotated[User | None, Depends(public)]


@router.get("/outbox", name="dev:outbox")
async def outbox(request: Request, uow: UoW, user: Anyone, page: int = 1) -> Response:
    """Every email the platform wrote, so verification and reset links work with no mail server."""
    if get_settings().is_production:
        raise NotFound()
    emails = await notification_service.outbox(
        uow.session, PageParams(page=max(1, min(page, 10_000)), size=20)
    )
    return render(request, "dev/outbox.html", {"emails": emails})


@router.get("/telegram", name="dev:telegram")
async def telegram(request: Request, uow: UoW, user: Anyone, page: int = 1) -> Response:
    """Every Telegram message the platform wrote, as Telegram would show it, so the bot works offline."""
    if get_settings().is_production:
        raise NotFound()
    messages = await notification_service.telegram_messages(
        uow.session, PageParams(page=max(1, min(page, 10_000)), size=20)
    )
    return render(request, "dev/telegram.html", {"messages": messages})
