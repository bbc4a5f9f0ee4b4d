from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, UploadFile

from academy.auth.access import admin_only, signed_in
from academy.auth.schemas import UserRead
from academy.config import get_settings
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import Role, User
from academy.user.schemas import ProfileUpdate, RoleUpdate
from academy.user.service import user_service

router = APIRouter(prefix="/users", tags=["users"])
SignedIn = Annotated[User, Depends(signed_in)]
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Admin = Annotated[User, Depends(admin_only)]


@router.patch("/me")
async def update_me(data: ProfileUpdate, uow: UoW, user: SignedIn) -> UserRead:
    return user_service.read(await user_service.update_profile(uow.session, user, data))


@router.put("/me/avatar")
async def upload_avatar(file: UploadFile, uow: UoW, user: SignedIn) -> UserRead:
    # One byte over the limit is enough for the service to refuse it; never read an unbounded upload.
    data = await file.read(get_settings().max_avatar_bytes + 1)
    return user_service.read(await user_service.set_avatar(uow.session, user, data))


@router.get("")
async def list_users(
    uow: UoW,
    _: Admin,
    params: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str, Query(max_length=100)] = "",
    role: Role | None = None,
) -> Page[UserRead]:
    return await user_service.search(uow.session, params, query=q, role=role)


@router.get("/{user_id}")
async def get_user(user_id: UserId, uow: UoW, _: Admin) -> UserRead:
    return user_service.read(await user_service.get(uow.session, user_id))


@router.put("/{user_id}/role")
async def set_role(user_id: UserId, data: RoleUpdate, uow: UoW, _: Admin) -> UserRead:
    return user_service.read(await user_service.set_role(uow.session, user_id, data.role))
