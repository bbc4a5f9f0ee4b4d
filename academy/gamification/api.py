from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from academy.auth.access import signed_in
from academy.gamification.schemas import Leaderboard, LeaderboardVisibility, ProgressRead
from academy.gamification.service import gamification_service
from academy.kit.deps import UoW
from academy.models import User

router = APIRouter(tags=["gamification"])
SignedIn = Annotated[User, Depends(signed_in)]


@router.get("/me/gamification")
async def my_gamification(uow: UoW, user: SignedIn) -> ProgressRead:
    return await gamification_service.progress(uow.session, user)


@router.get("/leaderboard")
async def leaderboard(uow: UoW, user: SignedIn) -> Leaderboard:
    return await gamification_service.leaderboard(uow.session, user)


@router.put("/leaderboard/visibility")
async def set_visibility(data: LeaderboardVisibility, uow: UoW, user: SignedIn) -> Leaderboard:
    await gamification_service.set_leaderboard_hidden(uow.session, user, data.hidden)
    return await gamification_service.leaderboard(uow.session, user)
