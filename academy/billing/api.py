from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from academy.auth.access import admin_only
from academy.billing.schemas import GrantCreate, GrantRead
from academy.billing.service import billing_service
from academy.kit.deps import UoW
from academy.models import User
from academy.user.service import user_service

router = APIRouter(prefix="/access-grants", tags=["billing"])


@router.post("", status_code=201)
async def grant_access(data: GrantCreate, uow: UoW, admin: Annotated[User, Depends(admin_only)]) -> GrantRead:
    """Give a user an access tier (until `expires_at`, or for good): comped access today, and the
    same record subscriptions will write."""
    user = await user_service.get(uow.session, data.user_id)
    grant = await billing_service.grant(
        uow.session, user, data.tier, expires_at=data.expires_at, granted_by=admin
    )
    return GrantRead.model_validate(grant, from_attributes=True)
