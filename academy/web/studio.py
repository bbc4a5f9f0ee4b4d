"""Authoring pages for curators and admins: course structure and lesson editing with live preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from academy.auth.access import require
from academy.course.schemas import LessonUpdate
from academy.course.service import course_service
from academy.kit.deps import UoW
from academy.kit.errors import Unprocessable
from academy.models import Role, User
from academy.web.forms import form_data, parse
from academy.web.templating import render

router = APIRouter(prefix="/studio")
Author = Annotated[User, Depends(require(Role.curator, Role.admin))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", name="studio:index")
async def studio(
    request: Request, uow: UoW, user: Author, course: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None
) -> Response:
    courses = await course_service.all_courses(uow.session)
    selected = next((c for c in courses if c.id == course), courses[0] if courses else None)
    modules: list[tuple[Any, list[Any]]] = []
    if selected is not None:
        lessons = await course_service.lessons(uow.session, selected.id, include_drafts=True)
        for module in await course_service.modules(uow.session, selected.id):
            modules.append((module, [lesson for lesson in lessons if lesson.module_id == module.id]))
    return render(
        request, "studio/index.html", {"courses": courses, "selected": selected, "modules": modules}
    )


@router.get("/lessons/{lesson_id}", name="studio:lesson")
async def edit_lesson(request: Request, lesson_id: Id, uow: UoW, user: Author) -> Response:
    lesson = await course_service.lesson(uow.session, lesson_id, user)
    return render(request, "studio/lesson.html", {"lesson": lesson, "errors": {}, "saved": False})


@router.post("/lessons/{lesson_id}")
async def save_lesson(request: Request, lesson_id: Id, uow: UoW, user: Author) -> Response:
    lesson = await course_service.lesson(uow.session, lesson_id, user)
    data = await form_data(request)
    values: dict[str, Any] = {
        "title": data.get("title", "").strip(),
        "content_md": data.get("content_md", ""),
        "duration_minutes": data.get("duration_minutes") or None,
        "difficulty": data.get("difficulty") or None,
        "video_url": data.get("video_url", "").strip() or None,
        "tags": [t.strip() for t in data.get("tags", "").split(",") if t.strip()],
        "deadline_days": data.get("deadline_days") or None,
        "published": data.get("published") == "on",
    }
    parsed, errors = parse(LessonUpdate, values)
    if parsed is None:
        return render(
            request,
            "studio/lesson.html",
            {"lesson": lesson, "errors": errors, "saved": False},
            status_code=422,
        )
    lesson = await course_service.update_lesson(uow.session, lesson_id, parsed)
    return render(request, "studio/lesson.html", {"lesson": lesson, "errors": {}, "saved": True})


@router.post("/preview", name="studio:preview")
async def preview(request: Request, user: Author) -> Response:
    data = await form_data(request)
    text = data.get("content_md", "")
    if len(text) > 200_000:
        raise Unprocessable("Lesson text is too long to preview")
    return HTMLResponse(course_service.preview(text))
