from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from academy.auth.access import signed_in
from academy.enrollment.schemas import CompletionRead, EnrollmentCreate, EnrollmentRead, StudentProgress
from academy.enrollment.service import enrollment_service
from academy.kit.deps import UoW
from academy.kit.errors import NotFound
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import User
from academy.user.service import user_service

router = APIRouter(tags=["learning"])
SignedIn = Annotated[User, Depends(signed_in)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/enrollments", status_code=201)
async def enroll(data: EnrollmentCreate, uow: UoW, user: SignedIn) -> EnrollmentRead:
    enrollment = await enrollment_service.enroll(uow.session, user, data.course_id)
    return await enrollment_service.read(uow.session, user, enrollment)


@router.get("/enrollments")
async def my_enrollments(
    uow: UoW, user: SignedIn, params: Annotated[PageParams, Depends(page_params)]
) -> Page[EnrollmentRead]:
    return await enrollment_service.enrollments(uow.session, user, params)


@router.post("/lessons/{lesson_id}/complete")
async def complete_lesson(lesson_id: Id, uow: UoW, user: SignedIn) -> CompletionRead:
    return await enrollment_service.complete_lesson(uow.session, user, lesson_id)


@router.get("/students/{student_id}/progress")
async def student_progress(
    student_id: Id,
    uow: UoW,
    user: SignedIn,
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> StudentProgress:
    student = await user_service.find(uow.session, student_id)
    if student is None:
        raise NotFound("Student not found")
    return await enrollment_service.student_progress(uow.session, user, student, course_id)
