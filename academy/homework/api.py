"""Homework JSON API.

Shapes: `GET /assignments/{id}` is the assignment (`AssignmentRead`; the model answer is empty unless
the viewer manages the course); `GET /assignments/{id}/status` is the caller's own state
(`AssignmentStatus`: deadline for them, attempts, latest submission, whether they can submit).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from academy.auth.access import require, signed_in
from academy.config import get_settings
from academy.homework import files
from academy.homework.schemas import (
    AgreementRead,
    AssignmentCreate,
    AssignmentRead,
    AssignmentStatus,
    AssignmentUpdate,
    QueueStatus,
    ReviewCreate,
    ReviewItem,
    SubmissionCreate,
    SubmissionRead,
    Upload,
)
from academy.homework.service import homework_service
from academy.kit.deps import UoW
from academy.kit.errors import PayloadTooLarge, Unprocessable
from academy.kit.pagination import Page, PageParams, page_params
from academy.kit.schemas import ErrorBody
from academy.models import Role, User

router = APIRouter(tags=["homework"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
CourseFilter = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
SignedIn = Annotated[User, Depends(signed_in)]
Curator = Annotated[User, Depends(require(Role.curator, Role.admin))]
Paging = Annotated[PageParams, Depends(page_params)]

_SUBMISSION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SubmissionCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The file is too large"}
}


@router.get("/assignments")
async def list_assignments(
    uow: UoW, user: SignedIn, course_id: CourseFilter = None, lesson_id: CourseFilter = None
) -> list[AssignmentRead]:
    """Published homework (plus every assignment of the courses the caller curates)."""
    return await homework_service.assignments(uow.session, user, course_id=course_id, lesson_id=lesson_id)


@router.post("/assignments", status_code=201)
async def create_assignment(data: AssignmentCreate, uow: UoW, curator: Curator) -> AssignmentRead:
    return await homework_service.create_assignment(uow.session, curator, data)


@router.get("/assignments/{assignment_id}")
async def get_assignment(assignment_id: Id, uow: UoW, user: SignedIn) -> AssignmentRead:
    return await homework_service.assignment(uow.session, user, assignment_id)


@router.patch("/assignments/{assignment_id}")
async def update_assignment(
    assignment_id: Id, data: AssignmentUpdate, uow: UoW, curator: Curator
) -> AssignmentRead:
    return await homework_service.update_assignment(uow.session, curator, assignment_id, data)


@router.get("/assignments/{assignment_id}/status")
async def assignment_status(assignment_id: Id, uow: UoW, user: SignedIn) -> AssignmentStatus:
    """The caller's deadline (UTC), attempts, latest submission and whether they can submit now."""
    return await homework_service.status(uow.session, user, assignment_id)


@router.post(
    "/assignments/{assignment_id}/submissions",
    status_code=201,
    openapi_extra=_SUBMISSION_BODY,
    responses=_TOO_LARGE,
)
async def submit(assignment_id: Id, request: Request, uow: UoW, user: SignedIn) -> SubmissionRead:
    """JSON `{"text": ...}` or `{"answers": {...}}`, or multipart form data with a `file`."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        upload = await _upload(request)
        return await homework_service.submit(uow.session, user, assignment_id, upload=upload)
    if not content_type.startswith("application/json"):
        raise Unprocessable("Send JSON ({'text'} or {'answers'}) or multipart form data with a 'file'")
    try:
        data = SubmissionCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise Unprocessable(
            json.loads(exc.json(include_url=False, include_context=False, include_input=False))
        ) from None
    return await homework_service.submit(
        uow.session, user, assignment_id, text=data.text, answers=data.answers
    )


async def _upload(request: Request) -> Upload:
    limit = get_settings().homework_max_file_bytes
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:
        # Starlette refuses broken multipart bodies with its own exceptions; they are the client's fault.
        raise Unprocessable(f"Malformed multipart body: {exc}") from None
    item = form.get("file")
    if not isinstance(item, UploadFile):
        raise Unprocessable("Attach the file in the multipart field 'file'")
    # One byte over the limit is enough to refuse it; never hold an unbounded upload in memory.
    data = await item.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than the limit of {limit // 1024} KB")
    return Upload(filename=item.filename or "upload", data=data)


@router.get("/assignments/{assignment_id}/submissions")
async def list_submissions(
    assignment_id: Id, uow: UoW, user: SignedIn, params: Paging
) -> Page[SubmissionRead]:
    """The caller's own attempts; the course's curators and admins see every student's."""
    return await homework_service.submissions(uow.session, user, assignment_id, params)


@router.get("/submissions/{submission_id}")
async def get_submission(submission_id: Id, uow: UoW, user: SignedIn) -> SubmissionRead:
    return await homework_service.submission(uow.session, user, submission_id)


@router.get(
    "/submissions/{submission_id}/file",
    response_class=Response,
    responses={
        200: {
            "description": "The uploaded file, with the type sniffed from its content",
            "content": {media.split(";")[0]: {} for media in files.CONTENT_TYPES.values()},
        }
    },
)
async def submission_file(submission_id: Id, uow: UoW, user: SignedIn) -> Response:
    """Only for the student who sent it, the course's curators and admins (404 for anyone else)."""
    stored = await homework_service.file(uow.session, user, submission_id)
    return Response(
        content=stored.data,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": files.content_disposition(stored.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/submissions/{submission_id}/review")
async def review_submission(
    submission_id: Id, data: ReviewCreate, uow: UoW, curator: Curator
) -> SubmissionRead:
    """`scores: null` confirms the AI proposal; scores for every criterion override it."""
    return await homework_service.review(uow.session, curator, submission_id, data)


@router.get("/homework/review-queue")
async def review_queue(
    uow: UoW,
    curator: Curator,
    params: Paging,
    course_id: CourseFilter = None,
    status: QueueStatus = "proposed",
) -> Page[ReviewItem]:
    """Latest attempts waiting for (or past) review, oldest first, in the caller's courses."""
    return await homework_service.review_queue(
        uow.session, curator, params, course_id=course_id, status=status
    )


@router.get("/homework/agreement")
async def agreement(
    uow: UoW,
    curator: Curator,
    course_id: CourseFilter = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AgreementRead:
    """How often curators kept the AI pre-grade's points (per criterion and pooled), [start, end)."""
    return await homework_service.agreement(uow.session, curator, course_id=course_id, start=start, end=end)
