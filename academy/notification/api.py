from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from academy.auth.access import admin_only, signed_in
from academy.auth.schemas import Message
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.kit.schemas import Id
from academy.models import User
from academy.notification.schemas import (
    NotificationPayload,
    NotificationRead,
    PreferenceRead,
    PreferenceUpdate,
)
from academy.notification.service import notification_service

router = APIRouter(prefix="/notifications", tags=["notifications"])
SignedIn = Annotated[User, Depends(signed_in)]
Admin = Annotated[User, Depends(admin_only)]


class Announcement(NotificationPayload):
    user_id: Id


@router.post("", status_code=201)
async def send_notification(data: Announcement, uow: UoW, _: Admin) -> NotificationRead:
    """Send a notification to one user (admins): stored, pushed live, emailed and sent to Telegram
    per their preferences."""
    payload = NotificationPayload.model_validate(data.model_dump(exclude={"user_id"}))
    item = await notification_service.notify(uow.session, data.user_id, payload)
    return NotificationRead.model_validate(item)


@router.get("")
async def list_notifications(
    uow: UoW, user: SignedIn, params: Annotated[PageParams, Depends(page_params)], unread: bool = False
) -> Page[NotificationRead]:
    return await notification_service.page(uow.session, user, params, unread_only=unread)


@router.get("/unread-count")
async def unread_count(uow: UoW, user: SignedIn) -> dict[str, int]:
    return {"unread": await notification_service.unread_count(uow.session, user)}


@router.post("/{notification_id}/read")
async def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)], uow: UoW, user: SignedIn
) -> NotificationRead:
    return await notification_service.mark_read(uow.session, user, notification_id)


@router.post("/read-all")
async def mark_all_read(uow: UoW, user: SignedIn) -> Message:
    await notification_service.mark_all_read(uow.session, user)
    return Message(detail="All notifications marked as read")


@router.get("/preferences")
async def get_preferences(uow: UoW, user: SignedIn) -> list[PreferenceRead]:
    return await notification_service.preferences(uow.session, user)


@router.put("/preferences")
async def update_preferences(data: PreferenceUpdate, uow: UoW, user: SignedIn) -> list[PreferenceRead]:
    return await notification_service.update_preferences(
        uow.session, user, data.email, telegram=data.telegram, digest=data.digest
    )
