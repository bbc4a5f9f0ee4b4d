"""Homework pages: a student's assignments and submissions, the curators' review queue and the
assignment editor.

Every handler calls `homework_service`, which decides who may see and change what (a curator sees
only their courses, a student only their own work); these pages parse forms and render.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from academy.auth.access import require, signed_in
from academy.config import get_settings
from academy.course.service import course_service
from academy.enrollment.service import enrollment_service
from academy.homework.schemas import (
    FILE_TYPES,
    AssignmentCreate,
    AssignmentRead,
    AssignmentUpdate,
    ReviewCreate,
    ReviewItem,
    ScoreEdit,
    Upload,
)
from academy.homework.service import homework_service
from academy.kit import clock, i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError, NotFound, Unprocessable
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.quiz.service import quiz_service
from academy.user.service import user_service
from academy.web.forms import quiz_answers
from academy.web.templating import is_htmx, page_renderer

router = APIRouter()
SignedIn = Annotated[User, Depends(signed_in)]
Curator = Annotated[User, Depends(require(Role.curator, Role.admin))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A course filter: the forms' "all my courses" option sends an empty value.
CourseFilter = Annotated[str | None, Query(alias="course", max_length=20)]
_ = i18n.gettext
M = TypeVar("M", bound=BaseModel)

QUEUE_SIZE = 20
# Without JavaScript the rubric editor still offers this many rows (blank rows are ignored).
MIN_RUBRIC_ROWS = 4
# Errors a student or curator can fix in the form; anything else is the page's error state.
FORM_ERRORS = (409, 413, 422)
ReviewStatus = Literal["proposed", "submitted", "final", "all"]
_ROW = re.compile(r"^rubric-(\d{1,3})-(key|title|points|description|concepts)$")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def waited(hours: float) -> str:
    """How long a submission has waited, the way people say it: "40 min", "3 h", "2 days"."""
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return i18n.ngettext("%(num)d min", "%(num)d min", minutes) % {"num": minutes}
    if hours < 48:
        whole = int(hours)
        return i18n.ngettext("%(num)d h", "%(num)d h", whole) % {"num": whole}
    days = int(hours // 24)
    return i18n.ngettext("%(num)d day", "%(num)d days", days) % {"num": days}


def points(value: float | None) -> str:
    """Points in half steps, without a trailing ".0"."""
    if value is None:
        return "–"
    return f"{value:.1f}".removesuffix(".0")


def _helpers(user: User) -> dict[str, Any]:
    return {"tz": user.timezone, "waited": waited}


_page = page_renderer(_helpers)


def _detail(exc: AppError) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        detail = detail.get("message") or detail.get("detail") or next(iter(detail.values()), "")
    return i18n.gettext(str(detail))


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    """Field errors by form name: "title", or "rubric-0-points" for a criterion row."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        message = str(err["msg"]).removeprefix("Value error, ")
        if len(loc) >= 3 and loc[0] in ("rubric", "scores") and loc[1].isdigit():
            errors.setdefault(f"{loc[0]}-{loc[1]}-{loc[2]}", message)
        else:
            errors.setdefault(loc[0] if loc else "__all__", message)
    return errors


def _parse(model: type[M], values: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        return None, _validation_errors(exc)


def _course_id(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise Unprocessable(_("Choose a course from the list"))
    return int(value)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- student -----------------------------------------------------------------------------------------


@router.get("/homework", name="homework:mine")
async def my_homework(request: Request, uow: UoW, user: SignedIn) -> Response:
    enrolled = (await enrollment_service.enrollments(uow.session, user, PageParams(page=1, size=100))).items
    groups = []
    for enrollment in enrolled:
        assignments = await homework_service.assignments(uow.session, user, course_id=enrollment.course_id)
        statuses = [await homework_service.status(uow.session, user, a.id) for a in assignments]
        if statuses:
            groups.append(
                {"course_id": enrollment.course_id, "title": enrollment.course_title, "items": statuses}
            )
    return _page(request, user, "homework/mine.html", {"groups": groups, "enrolled": bool(enrolled)})


async def _assignment_context(uow: UnitOfWork, user: User, assignment_id: int) -> dict[str, Any]:
    status = await homework_service.status(uow.session, user, assignment_id)
    assignment = status.assignment
    quiz = None
    if assignment.kind == "quiz" and assignment.quiz_id:
        model = await quiz_service.get(uow.session, assignment.quiz_id, user)
        quiz = await quiz_service.read(uow.session, model, user)
    history = await homework_service.submissions(
        uow.session, user, assignment_id, PageParams(page=1, size=50)
    )
    return {
        "status": status,
        "a": assignment,
        # Sanitised by the course domain's renderer (markdown-it, then nh3).
        "instructions_html": course_service.preview(assignment.instructions),
        "quiz": quiz,
        "history": history.items,
        "max_bytes": _max_file_bytes(assignment),
        "accept": ",".join("." + kind for kind in assignment.file_types),
        "given": {},
        "errors": {},
    }


def _max_file_bytes(assignment: AssignmentRead) -> int:
    limit = get_settings().homework_max_file_bytes
    return min(limit, assignment.max_file_bytes) if assignment.max_file_bytes else limit


@router.get("/homework/{assignment_id}", name="homework:assignment")
async def assignment_page(request: Request, assignment_id: Id, uow: UoW, user: SignedIn) -> Response:
    context = await _assignment_context(uow, user, assignment_id)
    context["just_submitted"] = request.query_params.get("submitted") == "1"
    return _page(request, user, "homework/assignment.html", context)


@router.post("/homework/{assignment_id}", name="homework:submit")
async def submit(request: Request, assignment_id: Id, uow: UoW, user: SignedIn) -> Response:
    context = await _assignment_context(uow, user, assignment_id)
    assignment: AssignmentRead = context["a"]
    form = await request.form()
    # Each kind sends one thing: the service refuses a text with a file or quiz answers with a text.
    text = _text(form, "text") if assignment.kind == "text" else ""
    errors: dict[str, str] = {}
    upload: Upload | None = None
    answers: dict[int, Any] | None = None
    if assignment.kind == "quiz":
        answers = quiz_answers(form, context["quiz"].questions) if context["quiz"] is not None else {}
    elif assignment.kind == "file":
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            errors["file"] = _("Choose a file to upload")
        else:
            # One byte past the limit is enough for the service to say the file is too large.
            data = await file.read(context["max_bytes"] + 1)
            upload = Upload(filename=file.filename, data=data)
    status_code = 422
    if not errors:
        try:
            await homework_service.submit(
                uow.session, user, assignment_id, text=text or None, upload=upload, answers=answers
            )
        except AppError as exc:
            if exc.status_code not in FORM_ERRORS:
                raise
            # Nothing of a refused attempt may be kept.
            await uow.rollback()
            status_code = exc.status_code
            field = {"file": "file", "text": "text"}.get(assignment.kind, "form")
            errors[field if exc.status_code in (413, 422) else "form"] = _detail(exc)
    if errors:
        context = await _assignment_context(uow, user, assignment_id)
        context |= {"errors": errors, "given": {"text": text, "answers": answers or {}}}
        return _page(request, user, "homework/assignment.html", context, status_code=status_code)
    return RedirectResponse(f"/homework/{assignment_id}?submitted=1", status_code=303)


def _disposition(filename: str, content_type: str) -> str:
    # Images show inline on the review page; everything else (PDF included) downloads.
    how = "inline" if content_type in ("image/png", "image/jpeg", "image/gif") else "attachment"
    ascii_name = re.sub(r"[^\w.\- ]", "_", filename.encode("ascii", "replace").decode()) or "file"
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/homework/submissions/{submission_id}/file", name="homework:file")
async def submission_file(submission_id: Id, uow: UoW, user: SignedIn) -> Response:
    stored = await homework_service.file(uow.session, user, submission_id)
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": _disposition(stored.filename, stored.content_type),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- curators: the review queue ------------------------------------------------------------------


async def _courses_for(uow: UnitOfWork, user: User) -> list[Any]:
    """Courses a curator may pick: the ones they curate; admins see every course."""
    courses = list(await course_service.all_courses(uow.session))
    if user.role == Role.admin:
        return courses
    curated = await enrollment_service.curated_course_ids(uow.session, user)
    return [c for c in courses if c.id in curated]


def _queue_query(course: int | None, status: str, page: int = 1) -> str:
    params: dict[str, Any] = {"status": status}
    if course:
        params["course"] = course
    if page > 1:
        params["page"] = page
    return urlencode(params)


@router.get("/curator/reviews", name="homework:reviews")
async def reviews(
    request: Request,
    uow: UoW,
    user: Curator,
    status: ReviewStatus = "proposed",
    course_filter: CourseFilter = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    course = _course_id(course_filter)
    queue = await homework_service.review_queue(
        uow.session, user, PageParams(page=page, size=QUEUE_SIZE), course_id=course, status=status
    )
    agreement = await homework_service.agreement(uow.session, user, course_id=course)
    context = {
        "queue": queue,
        "agreement": agreement,
        "status": status,
        "course": course,
        "courses": await _courses_for(uow, user),
        "query": _queue_query(course, status),
        "page_query": lambda p: _queue_query(course, status, p),
        "reviewed": request.query_params.get("reviewed"),
    }
    # The filter form swaps only the results (hx-target), so the URL and the filters stay in step.
    block = "results" if is_htmx(request) and request.headers.get("hx-target") == "review-results" else None
    return _page(request, user, "homework/reviews.html", context, block=block)


@router.get("/curator/reviews/badge", name="homework:reviews_badge")
async def reviews_badge(request: Request, uow: UoW, user: Curator) -> Response:
    """The nav badge, loaded by HTMX so other pages never wait for the count."""
    count = await homework_service.pending_review_count(uow.session, user)
    return _page(request, user, "homework/_badge.html", {"count": count})


async def _review_context(uow: UnitOfWork, user: User, submission_id: int) -> dict[str, Any]:
    submission = await homework_service.submission(uow.session, user, submission_id)
    assignment = await homework_service.assignment(uow.session, user, submission.assignment_id)
    student = await user_service.get(uow.session, submission.user_id)
    course = await course_service.find(uow.session, submission.course_id)
    reviewer = None
    if submission.reviewed_by_id is not None:
        reviewer = await user_service.get(uow.session, submission.reviewed_by_id)
    item = ReviewItem(
        submission=submission,
        assignment=assignment,
        student_id=student.id,
        student_name=student.display_name,
        course_title=course.title if course else "",
        waiting_hours=max(0.0, (clock.now() - submission.submitted_at).total_seconds() / 3600),
    )
    return {
        "item": item,
        "s": submission,
        "a": assignment,
        "reviewer_name": reviewer.display_name if reviewer else None,
        "given": None,
        "errors": {},
    }


def _filters(request: Request, data: FormData | None = None) -> tuple[int | None, str]:
    """The queue filter a curator came from, carried through the review page and back."""
    source: Any = data if data is not None else request.query_params
    raw = source.get("course")
    course = int(raw) if isinstance(raw, str) and raw.isdigit() and 0 < int(raw) < 2**63 else None
    status = source.get("status")
    return course, status if status in ("proposed", "submitted", "final", "all") else "proposed"


@router.get("/curator/reviews/{submission_id}", name="homework:review")
async def review_page(request: Request, submission_id: Id, uow: UoW, user: Curator) -> Response:
    context = await _review_context(uow, user, submission_id)
    course, status = _filters(request)
    context |= {"course": course, "status": status, "query": _queue_query(course, status)}
    context["reviewed"] = request.query_params.get("reviewed")
    return _page(request, user, "homework/review.html", context)


async def _after_review(
    uow: UnitOfWork, user: User, submission_id: int, course: int | None, status: str
) -> str:
    """The next submission waiting in the same queue, or the queue itself when it is empty."""
    waiting = await homework_service.review_queue(
        uow.session, user, PageParams(page=1, size=2), course_id=course, status="proposed"
    )
    following = next((i for i in waiting.items if i.submission.id != submission_id), None)
    query = _queue_query(course, status) + f"&reviewed={submission_id}"
    if following is None:
        return f"/curator/reviews?{query}"
    return f"/curator/reviews/{following.submission.id}?{query}"


async def _save_review(
    request: Request, uow: UnitOfWork, user: User, submission_id: int, data: ReviewCreate, form: FormData
) -> Response:
    course, status = _filters(request, form)
    try:
        await homework_service.review(uow.session, user, submission_id, data)
    except AppError as exc:
        if exc.status_code not in FORM_ERRORS:
            raise
        await uow.rollback()
        context = await _review_context(uow, user, submission_id)
        context |= {
            "course": course,
            "status": status,
            "query": _queue_query(course, status),
            "given": _given_scores(form),
            "errors": {"form": _detail(exc)},
        }
        return _page(request, user, "homework/review.html", context, status_code=exc.status_code)
    return RedirectResponse(await _after_review(uow, user, submission_id, course, status), status_code=303)


@router.post("/curator/reviews/{submission_id}/confirm", name="homework:confirm")
async def confirm(request: Request, submission_id: Id, uow: UoW, user: Curator) -> Response:
    form = await request.form()
    return await _save_review(
        request, uow, user, submission_id, ReviewCreate(scores=None, feedback=None), form
    )


def _given_scores(form: FormData) -> dict[str, str]:
    return {
        k: v
        for k, v in form.items()
        if isinstance(v, str) and k.startswith(("points-", "feedback-", "comment"))
    }


@router.post("/curator/reviews/{submission_id}", name="homework:override")
async def override(request: Request, submission_id: Id, uow: UoW, user: Curator) -> Response:
    form = await request.form()
    context = await _review_context(uow, user, submission_id)
    assignment: AssignmentRead = context["a"]
    errors: dict[str, str] = {}
    scores: list[ScoreEdit] = []
    for criterion in assignment.rubric:
        raw = _text(form, f"points-{criterion.key}").strip().replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            errors[f"points-{criterion.key}"] = _("Enter the points as a number")
            continue
        if not 0 <= value <= criterion.points:
            errors[f"points-{criterion.key}"] = _("Between 0 and %(max)s") % {"max": points(criterion.points)}
            continue
        feedback = _text(form, f"feedback-{criterion.key}").strip()
        edit, problems = _parse(ScoreEdit, {"key": criterion.key, "points": value, "feedback": feedback})
        if edit is None:
            errors[f"feedback-{criterion.key}"] = next(iter(problems.values()))
            continue
        scores.append(edit)
    comment = _text(form, "comment").strip()
    data, problems = _parse(
        ReviewCreate, {"scores": [s.model_dump() for s in scores], "feedback": comment or None}
    )
    if data is None:
        errors["comment"] = problems.get("feedback") or next(iter(problems.values()))
    if errors or data is None:
        course, status = _filters(request, form)
        context |= {
            "course": course,
            "status": status,
            "query": _queue_query(course, status),
            "given": _given_scores(form),
            "errors": errors,
        }
        return _page(request, user, "homework/review.html", context, status_code=422)
    return await _save_review(request, uow, user, submission_id, data, form)


# --- curators: assignments ----------------------------------------------------------------------


@router.get("/curator/assignments", name="homework:assignments")
async def assignments_page(
    request: Request,
    uow: UoW,
    user: Curator,
    course_filter: CourseFilter = None,
) -> Response:
    course = _course_id(course_filter)
    courses = await _courses_for(uow, user)
    titles = {c.id: c.title for c in courses}
    # The service also lists other courses' published homework (students see it); this page is
    # about the viewer's own courses.
    items = [
        a
        for a in await homework_service.assignments(uow.session, user, course_id=course)
        if a.course_id in titles
    ]
    counts = {}
    for a in items:
        page = await homework_service.submissions(uow.session, user, a.id, PageParams(page=1, size=1))
        counts[a.id] = page.total
    waiting = {}
    for course_id in {a.course_id for a in items}:
        queue = await homework_service.review_queue(
            uow.session, user, PageParams(page=1, size=1), course_id=course_id, status="proposed"
        )
        waiting[course_id] = queue.total
    lessons = await _lesson_titles(uow, [c for c in courses if c.id in waiting])
    return _page(
        request,
        user,
        "homework/assignments.html",
        {
            "items": items,
            "counts": counts,
            "waiting": waiting,
            "course_titles": titles,
            "lesson_titles": lessons,
            "courses": courses,
            "course": course,
            "saved": request.query_params.get("saved"),
        },
    )


async def _lesson_titles(uow: UnitOfWork, courses: list[Any]) -> dict[int, str]:
    titles: dict[int, str] = {}
    for course in courses:
        for lesson in await course_service.lessons(uow.session, course.id, include_drafts=True):
            titles[lesson.id] = lesson.title
    return titles


async def _lesson_choices(uow: UnitOfWork, user: User) -> list[dict[str, Any]]:
    """Lessons of the viewer's courses, grouped by course, with the quiz each lesson has."""
    groups = []
    for course in await _courses_for(uow, user):
        lessons = list(await course_service.lessons(uow.session, course.id, include_drafts=True))
        quizzes = await course_service.quizzes_for_lessons(uow.session, [lesson.id for lesson in lessons])
        groups.append(
            {
                "title": course.title,
                "lessons": [
                    {
                        "id": lesson.id,
                        "title": lesson.title,
                        "quiz_id": quizzes[lesson.id].id if lesson.id in quizzes else None,
                    }
                    for lesson in lessons
                ],
            }
        )
    return groups


def _form_from(assignment: AssignmentRead | None, tz: str) -> dict[str, Any]:
    """What the editor shows: an existing assignment, or the defaults of a new one."""
    defaults = AssignmentCreate.model_fields
    if assignment is None:
        return {
            "lesson_id": "",
            "title": "",
            "kind": "text",
            "instructions": "",
            "model_answer": "",
            "quiz_id": "",
            "due_mode": "none",
            "due_at": "",
            "due_days": "",
            "late_policy": defaults["late_policy"].default,
            "late_penalty_pct": defaults["late_penalty_pct"].default,
            "max_attempts": defaults["max_attempts"].default,
            "file_types": [],
            "max_file_mb": "",
            "pass_pct": defaults["pass_pct"].default,
            "published": True,
            "rubric": [],
        }
    due_mode = "at" if assignment.due_at else "days" if assignment.due_days else "none"
    return {
        "lesson_id": assignment.lesson_id,
        "title": assignment.title,
        "kind": assignment.kind,
        "instructions": assignment.instructions,
        "model_answer": assignment.model_answer,
        "quiz_id": assignment.quiz_id or "",
        "due_mode": due_mode,
        "due_at": assignment.due_at.astimezone(_zone(tz)).strftime("%Y-%m-%dT%H:%M")
        if assignment.due_at
        else "",
        "due_days": assignment.due_days or "",
        "late_policy": assignment.late_policy,
        "late_penalty_pct": assignment.late_penalty_pct,
        "max_attempts": assignment.max_attempts,
        "file_types": list(assignment.file_types),
        "max_file_mb": points(assignment.max_file_bytes / 1024 / 1024) if assignment.max_file_bytes else "",
        "pass_pct": assignment.pass_pct,
        "published": assignment.published,
        "rubric": [
            {
                "key": c.key,
                "title": c.title,
                "points": points(c.points),
                "description": c.description,
                "concepts": ", ".join(c.concepts),
            }
            for c in assignment.rubric
        ],
    }


def _rubric_rows(form: FormData) -> list[dict[str, str]]:
    """Rubric rows as typed, in form order; the JS editor may leave gaps in the numbering."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.items():
        match = _ROW.match(name)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return [rows[i] for i in sorted(rows)]


def _read_form(form: FormData, tz: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The editor form as typed (to show again) and as schema values, plus errors found on the way."""
    given: dict[str, Any] = {name: _text(form, name).strip() for name in (
        "lesson_id", "title", "kind", "quiz_id", "due_mode", "due_at", "due_days", "late_policy",
        "late_penalty_pct", "max_attempts", "max_file_mb", "pass_pct",
    )}  # fmt: skip
    given["instructions"] = _text(form, "instructions")
    given["model_answer"] = _text(form, "model_answer")
    given["file_types"] = [v for v in form.getlist("file_types") if isinstance(v, str) and v in FILE_TYPES]
    given["published"] = form.get("published") == "on"
    rows = [row for row in _rubric_rows(form) if any(row.values())]
    given["rubric"] = rows
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "lesson_id": given["lesson_id"] or None,
        "title": given["title"],
        "kind": given["kind"] or "text",
        "instructions": given["instructions"],
        "model_answer": given["model_answer"],
        "quiz_id": given["quiz_id"] or None,
        "late_policy": given["late_policy"] or "accept",
        "late_penalty_pct": given["late_penalty_pct"] or 0,
        "max_attempts": given["max_attempts"] or None,
        "file_types": given["file_types"],
        "pass_pct": given["pass_pct"] or None,
        "published": given["published"],
        "due_at": None,
        "due_days": None,
        "max_file_bytes": None,
        "rubric": [
            {
                # A row without a key takes one from its title, so curators need not invent keys.
                "key": row.get("key") or re.sub(r"[^a-z0-9]+", "_", row.get("title", "").lower()).strip("_"),
                "title": row.get("title", ""),
                "points": row.get("points", "").replace(",", ".") or None,
                "description": row.get("description", ""),
                "concepts": [c.strip() for c in row.get("concepts", "").split(",") if c.strip()],
            }
            for row in rows
        ],
    }
    if given["due_mode"] == "at":
        try:
            local = datetime.fromisoformat(given["due_at"])
            values["due_at"] = local.replace(tzinfo=_zone(tz)) if local.tzinfo is None else local
        except ValueError:
            errors["due_at"] = _("Choose a date and time")
    elif given["due_mode"] == "days":
        values["due_days"] = given["due_days"] or None
        if values["due_days"] is None:
            errors["due_days"] = _("Enter a number of days")
    if given["max_file_mb"]:
        try:
            megabytes = float(given["max_file_mb"].replace(",", "."))
        except ValueError:
            errors["max_file_bytes"] = _("Enter a size in MB")
        else:
            values["max_file_bytes"] = round(megabytes * 1024 * 1024)
    for key in ("max_attempts", "pass_pct"):
        if values[key] is None:
            values.pop(key)
    return given, values, errors


async def _editor(
    request: Request,
    uow: UnitOfWork,
    user: User,
    *,
    assignment: AssignmentRead | None,
    given: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    form = given if given is not None else _form_from(assignment, user.timezone)
    extra_rows = max(1, MIN_RUBRIC_ROWS - len(form["rubric"]))
    context = {
        "assignment": assignment,
        "form": form,
        "rows": list(form["rubric"]) + [{}] * extra_rows,
        "errors": errors or {},
        "lesson_groups": await _lesson_choices(uow, user),
        "file_types": FILE_TYPES,
    }
    return _page(request, user, "homework/editor.html", context, status_code=status_code)


async def _find_assignment(uow: UnitOfWork, user: User, assignment_id: int) -> AssignmentRead:
    """An assignment the viewer may edit: students see other courses' homework, curators do not edit it."""
    found = await homework_service.assignment(uow.session, user, assignment_id)
    if found.course_id not in {c.id for c in await _courses_for(uow, user)}:
        raise NotFound("Assignment not found")
    return found


@router.get("/curator/assignments/new", name="homework:new_assignment")
async def new_assignment(request: Request, uow: UoW, user: Curator) -> Response:
    return await _editor(request, uow, user, assignment=None)


@router.post("/curator/assignments/new", name="homework:create_assignment")
async def create_assignment(request: Request, uow: UoW, user: Curator) -> Response:
    given, values, errors = _read_form(await request.form(), user.timezone)
    if values["kind"] == "quiz" and values["quiz_id"] is None and str(values["lesson_id"] or "").isdigit():
        # "The lesson's own quiz", the picker's default.
        own = await course_service.quiz_for_lesson(uow.session, int(values["lesson_id"]))
        values["quiz_id"] = own.id if own else None
    data, problems = _parse(AssignmentCreate, values)
    errors = problems | errors
    if data is not None and not errors:
        try:
            created = await homework_service.create_assignment(uow.session, user, data)
        except AppError as exc:
            if exc.status_code not in FORM_ERRORS:
                raise
            await uow.rollback()
            errors["__all__"] = _detail(exc)
        else:
            return RedirectResponse(f"/curator/assignments?saved={created.id}", status_code=303)
    return await _editor(request, uow, user, assignment=None, given=given, errors=errors, status_code=422)


@router.get("/curator/assignments/{assignment_id}/edit", name="homework:edit_assignment")
async def edit_assignment(request: Request, assignment_id: Id, uow: UoW, user: Curator) -> Response:
    assignment = await _find_assignment(uow, user, assignment_id)
    return await _editor(request, uow, user, assignment=assignment)


@router.post("/curator/assignments/{assignment_id}/edit", name="homework:update_assignment")
async def update_assignment(request: Request, assignment_id: Id, uow: UoW, user: Curator) -> Response:
    assignment = await _find_assignment(uow, user, assignment_id)
    given, values, errors = _read_form(await request.form(), user.timezone)
    # The lesson and the kind are fixed once created; the form shows them without sending them.
    given |= {"lesson_id": assignment.lesson_id, "kind": assignment.kind}
    fields = AssignmentUpdate.model_fields
    data, problems = _parse(AssignmentUpdate, {k: v for k, v in values.items() if k in fields})
    errors = problems | errors
    if data is not None and not errors:
        try:
            updated = await homework_service.update_assignment(uow.session, user, assignment_id, data)
        except AppError as exc:
            if exc.status_code not in FORM_ERRORS:
                raise
            await uow.rollback()
            errors["__all__"] = _detail(exc)
        else:
            return RedirectResponse(f"/curator/assignments?saved={updated.id}", status_code=303)
    return await _editor(
        request, uow, user, assignment=assignment, given=given, errors=errors, status_code=422
    )
