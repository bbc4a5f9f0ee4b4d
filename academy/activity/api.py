from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from academy.activity.service import ActivityKind, activity_service
from academy.auth.access import signed_in
from academy.kit.deps import UoW
from academy.kit.errors import NotFound
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import Role, User

router = APIRouter(prefix="/activity", tags=["learning"])


class ActivityRead(BaseModel):
    id: int
    user_id: int
    kind: str
    at: datetime
    course_id: int | None
    lesson_id: int | None
    quiz_id: int | None
    data: dict[str, object]


@router.get("")
async def activity(
    uow: UoW,
    user: Annotated[User, Depends(signed_in)],
    params: Annotated[PageParams, Depends(page_params)],
    user_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    kind: Annotated[list[ActivityKind] | None, Query()] = None,
    since: datetime | None = None,
) -> Page[ActivityRead]:
    """Your own learning events; admins may read anyone's."""
    target = user_id or user.id
    if target != user.id and user.role != Role.admin:
        raise NotFound("No activity found")
    rows, total = await activity_service.stream(
        uow.session,
        params,
        user_id=target,
        course_id=course_id,
        kinds=[k.value for k in kind] if kind else None,
        since=since,
    )
    items = [ActivityRead.model_validate(r, from_attributes=True) for r in rows]
    return Page(items=items, total=total, page=params.page, size=params.size)
