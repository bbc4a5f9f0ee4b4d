from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from academy.auth.access import public, require, signed_in
from academy.course.schemas import (
    CourseSummary,
    FaqRead,
    GlossaryTermRead,
    LessonRead,
    LessonSummary,
    LessonUpdate,
    Level,
    MarkdownPreview,
    SearchResult,
)
from academy.course.service import course_service
from academy.enrollment.schemas import CourseOutline
from academy.enrollment.service import enrollment_service
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import Role, User

router = APIRouter(tags=["courses"])
Viewer = Annotated[User | None, Depends(public)]
SignedIn = Annotated[User, Depends(signed_in)]
Author = Annotated[User, Depends(require(Role.curator, Role.admin))]
Paging = Annotated[PageParams, Depends(page_params)]
CourseId = Annotated[int, Path(ge=1, le=2**63 - 1)]
LessonId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/courses")
async def list_courses(
    uow: UoW,
    viewer: Viewer,
    params: Paging,
    q: Annotated[str | None, Query(max_length=100)] = None,
    level: Level | None = None,
) -> Page[CourseSummary]:
    return await course_service.catalog(uow.session, params, viewer, query=q, level=level)


@router.get("/courses/{course_id}")
async def get_course(course_id: CourseId, uow: UoW, viewer: Viewer) -> CourseOutline:
    course = await course_service.get(uow.session, course_id, viewer)
    return await enrollment_service.outline(uow.session, viewer, course)


@router.get("/courses/{course_id}/lessons")
async def list_lessons(
    course_id: CourseId,
    uow: UoW,
    viewer: Viewer,
    params: Paging,
    module_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[LessonSummary]:
    course = await course_service.get(uow.session, course_id, viewer)
    return await course_service.lessons_page(uow.session, course, params, viewer, module_id)


@router.get("/courses/{course_id}/glossary")
async def glossary(course_id: CourseId, uow: UoW, viewer: Viewer) -> list[GlossaryTermRead]:
    course = await course_service.get(uow.session, course_id, viewer)
    return [
        GlossaryTermRead(id=t.id, term=t.term, definition=t.definition, see_also=t.see_also)
        for t in await course_service.glossary(uow.session, course.id)
    ]


@router.get("/courses/{course_id}/faq")
async def faq(course_id: CourseId, uow: UoW, viewer: Viewer) -> list[FaqRead]:
    course = await course_service.get(uow.session, course_id, viewer)
    return [
        FaqRead(id=f.id, question=f.question, answer=f.answer, tags=f.tags)
        for f in await course_service.faq(uow.session, course.id)
    ]


@router.get("/lessons/{lesson_id}")
async def get_lesson(lesson_id: LessonId, uow: UoW, user: SignedIn) -> LessonRead:
    lesson = await course_service.lesson(uow.session, lesson_id, user)
    await enrollment_service.open_lesson(uow.session, user, lesson)
    return await course_service.read_lesson(uow.session, lesson, user)


@router.patch("/lessons/{lesson_id}")
async def update_lesson(lesson_id: LessonId, data: LessonUpdate, uow: UoW, user: Author) -> LessonRead:
    lesson = await course_service.update_lesson(uow.session, lesson_id, data)
    return await course_service.read_lesson(uow.session, lesson, user)


@router.post("/lessons/preview")
async def preview_markdown(data: MarkdownPreview, _: Author) -> dict[str, str]:
    return {"html": course_service.preview(data.markdown)}


@router.get("/search")
async def search(
    uow: UoW,
    _: Viewer,
    params: Paging,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    kind: Literal["lesson", "glossary", "faq"] | None = None,
) -> Page[SearchResult]:
    return await course_service.search(
        uow.session, q, params, course_id=course_id, kinds=[kind] if kind else None
    )
