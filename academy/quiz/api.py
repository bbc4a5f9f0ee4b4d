from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from academy.auth.access import signed_in
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import User
from academy.quiz.schemas import AttemptCreate, AttemptRead, QuizRead
from academy.quiz.service import quiz_service

router = APIRouter(prefix="/quizzes", tags=["quizzes"])
SignedIn = Annotated[User, Depends(signed_in)]
QuizId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/{quiz_id}")
async def get_quiz(quiz_id: QuizId, uow: UoW, user: SignedIn) -> QuizRead:
    quiz = await quiz_service.get(uow.session, quiz_id, user)
    return await quiz_service.read(uow.session, quiz, user)


@router.post("/{quiz_id}/attempts", status_code=201)
async def submit_attempt(quiz_id: QuizId, data: AttemptCreate, uow: UoW, user: SignedIn) -> AttemptRead:
    return await quiz_service.attempt(uow.session, user, quiz_id, data.answers)


@router.get("/{quiz_id}/attempts")
async def list_attempts(
    quiz_id: QuizId,
    uow: UoW,
    user: SignedIn,
    params: Annotated[PageParams, Depends(page_params)],
    user_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[AttemptRead]:
    return await quiz_service.attempts(uow.session, user, quiz_id, params, user_id=user_id)
