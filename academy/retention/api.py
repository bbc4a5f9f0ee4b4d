from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from academy.auth.access import require, staff
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import Role, User
from academy.retention.schemas import (
    ModelStatus,
    NudgeCreate,
    NudgeRead,
    RosterQuery,
    StudentDetail,
    StudentRow,
    TrainingReport,
)
from academy.retention.service import retention_service

router = APIRouter(tags=["retention"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
# Students and experts get 403; curators see only the courses they curate (the service decides).
Curator = Annotated[User, Depends(require(Role.curator, Role.admin))]
Admin = Annotated[User, Depends(require(Role.admin))]
Staff = Annotated[User, Depends(staff)]
Paging = Annotated[PageParams, Depends(page_params)]


def roster_query(
    status: Literal["all", "at_risk", "active", "idle", "dropped", "completed"] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    sort: Literal["risk", "name", "progress", "last_activity", "enrolled"] = "risk",
    order: Literal["asc", "desc"] = "desc",
) -> RosterQuery:
    return RosterQuery(status=status, q=q, course_id=course_id, sort=sort, order=order)


@router.get("/students")
async def roster(
    uow: UoW, viewer: Curator, params: Paging, query: Annotated[RosterQuery, Depends(roster_query)]
) -> Page[StudentRow]:
    """Enrolments in the viewer's courses with status, risk, progress and homework counts."""
    return await retention_service.roster(uow.session, viewer, query, params)


@router.get("/students/counts")
async def roster_counts(
    uow: UoW, viewer: Curator, course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None
) -> dict[str, int]:
    """Students per roster status, and "all"."""
    return await retention_service.counts(uow.session, viewer, course_id)


@router.get("/enrollments/{enrollment_id}/risk")
async def student_risk(enrollment_id: Id, uow: UoW, viewer: Curator) -> StudentDetail:
    """One student's row, risk features, nudges and at-risk episodes (404 outside the viewer's courses)."""
    return await retention_service.student(uow.session, viewer, enrollment_id)


@router.get("/enrollments/{enrollment_id}/nudges")
async def nudges(enrollment_id: Id, uow: UoW, viewer: Curator) -> list[NudgeRead]:
    return await retention_service.nudges(uow.session, viewer, enrollment_id)


@router.post("/enrollments/{enrollment_id}/nudges", status_code=201)
async def nudge(enrollment_id: Id, data: NudgeCreate, uow: UoW, viewer: Curator) -> NudgeRead:
    """Nudge the student now. 409 while the nudge cap is used up (the detail says until when); 422 for
    Telegram when the student has not linked it."""
    return await retention_service.nudge(uow.session, viewer, enrollment_id, data)


@router.get("/risk-models")
async def model_status(uow: UoW, viewer: Staff) -> ModelStatus:
    """Which scorer is in use and the models trained so far."""
    return await retention_service.model_status(uow.session)


@router.post("/risk-models")
async def train(uow: UoW, admin: Admin) -> TrainingReport:
    """Train a model on finished enrolments; it is used only if it beats the rules on held-out data."""
    return await retention_service.train(uow.session)
