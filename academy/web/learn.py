"""Student pages: catalog, course, lesson player, quizzes, search, glossary, progress, certificates."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from academy.auth.access import admin_only, public, signed_in
from academy.certificate.schemas import CertificateRevoke
from academy.certificate.service import certificate_service
from academy.course.service import course_service
from academy.enrollment.service import enrollment_service
from academy.gamification.service import gamification_service
from academy.homework.service import homework_service
from academy.kit import i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError
from academy.kit.pagination import PageParams
from academy.models import User
from academy.quiz.service import quiz_service
from academy.web.forms import form_data, parse, quiz_answers
from academy.web.templating import is_htmx, render

router = APIRouter()
Viewer = Annotated[User | None, Depends(public)]
SignedIn = Annotated[User, Depends(signed_in)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
_ = i18n.gettext

_YOUTUBE = re.compile(r"^https://(?:www\.)?(?:youtube\.com/watch\?v=|youtu\.be/)([\w-]{6,20})")


def video_embed(url: str | None) -> str | None:
    """An embeddable address for known video hosts; other links are shown as plain links."""
    if not url:
        return None
    match = _YOUTUBE.match(url)
    return f"https://www.youtube-nocookie.com/embed/{match.group(1)}" if match else None


@router.get("/courses", name="learn:catalog")
async def catalog(
    request: Request,
    uow: UoW,
    viewer: Viewer,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    courses = await course_service.catalog(uow.session, PageParams(page=page, size=12), viewer, query=q)
    enrolled: set[int] = set()
    if viewer is not None:
        mine = await enrollment_service.enrollments(uow.session, viewer, PageParams(page=1, size=100))
        enrolled = {e.course_id for e in mine.items}
    return render(request, "learn/catalog.html", {"courses": courses, "q": q or "", "enrolled": enrolled})


@router.get("/courses/{course_id}", name="learn:course")
async def course_page(request: Request, course_id: Id, uow: UoW, viewer: Viewer) -> Response:
    course = await course_service.get(uow.session, course_id, viewer)
    outline = await enrollment_service.outline(uow.session, viewer, course)
    return render(request, "learn/course.html", {"course": course, "outline": outline})


@router.post("/courses/{course_id}/enroll", name="learn:enroll")
async def enroll(request: Request, course_id: Id, uow: UoW, user: SignedIn) -> Response:
    await enrollment_service.enroll(uow.session, user, course_id)
    return RedirectResponse(f"/courses/{course_id}?enrolled=1", status_code=303)


@router.get("/lessons/{lesson_id}", name="learn:lesson")
async def lesson_page(request: Request, lesson_id: Id, uow: UoW, user: SignedIn) -> Response:
    lesson = await course_service.lesson(uow.session, lesson_id, user)
    course = await course_service.get(uow.session, lesson.course_id, user)
    await enrollment_service.open_lesson(uow.session, user, lesson)
    read = await course_service.read_lesson(uow.session, lesson, user)
    outline = await enrollment_service.outline(uow.session, user, course)
    state = next((s for m in outline.modules for s in m.lessons if s.id == lesson.id), None)
    return render(
        request,
        "learn/lesson.html",
        {
            "course": course,
            "lesson": read,
            "outline": outline,
            "state": state,
            "video_embed": video_embed(read.video_url),
            "homework": await homework_service.lesson_statuses(uow.session, user, lesson.id),
        },
    )


@router.post("/lessons/{lesson_id}/complete", name="learn:complete")
async def complete_lesson(request: Request, lesson_id: Id, uow: UoW, user: SignedIn) -> Response:
    result = await enrollment_service.complete_lesson(uow.session, user, lesson_id)
    if not is_htmx(request):
        target = f"/lessons/{result.next_lesson_id}" if result.next_lesson_id else f"/lessons/{lesson_id}"
        return RedirectResponse(target, status_code=303)
    return render(request, "learn/_completed.html", {"result": result, "lesson_id": lesson_id})


@router.get("/quizzes/{quiz_id}", name="learn:quiz")
async def quiz_page(request: Request, quiz_id: Id, uow: UoW, user: SignedIn) -> Response:
    quiz = await quiz_service.get(uow.session, quiz_id, user)
    read = await quiz_service.read(uow.session, quiz, user)
    lesson = await course_service.lesson(uow.session, quiz.lesson_id, user)
    return render(request, "learn/quiz.html", {"quiz": read, "lesson": lesson, "result": None, "given": {}})


@router.post("/quizzes/{quiz_id}", name="learn:quiz_submit")
async def submit_quiz(request: Request, quiz_id: Id, uow: UoW, user: SignedIn) -> Response:
    quiz = await quiz_service.get(uow.session, quiz_id, user)
    read = await quiz_service.read(uow.session, quiz, user)
    lesson = await course_service.lesson(uow.session, quiz.lesson_id, user)
    form = await request.form()
    answers = quiz_answers(form, read.questions)
    context: dict[str, Any] = {"quiz": read, "lesson": lesson, "given": answers, "errors": {}}
    try:
        result = await quiz_service.attempt(uow.session, user, quiz_id, answers)
    except AppError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
        context |= {"result": None, "errors": detail.get("questions", {}), "message": detail.get("message")}
        return render(
            request, "learn/quiz.html", context, block="quiz" if is_htmx(request) else None, status_code=422
        )
    context |= {"result": result, "feedback": {f.question_id: f for f in result.feedback}}
    context["quiz"] = await quiz_service.read(uow.session, quiz, user)
    return render(request, "learn/quiz.html", context, block="quiz" if is_htmx(request) else None)


@router.get("/search", name="learn:search")
async def search_page(
    request: Request,
    uow: UoW,
    _viewer: Viewer,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str | None, Query(pattern="^(lesson|glossary|faq)$")] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    results = None
    if q.strip():
        results = await course_service.search(
            uow.session, q, PageParams(page=page, size=10), kinds=[kind] if kind else None
        )
    block = "results" if is_htmx(request) else None
    return render(request, "learn/search.html", {"q": q, "kind": kind, "results": results}, block=block)


@router.get("/courses/{course_id}/glossary", name="learn:glossary")
async def glossary_page(request: Request, course_id: Id, uow: UoW, viewer: Viewer) -> Response:
    course = await course_service.get(uow.session, course_id, viewer)
    terms = await course_service.glossary(uow.session, course.id)
    letters: dict[str, list[Any]] = {}
    for term in terms:
        letters.setdefault(term.term[:1].upper(), []).append(term)
    return render(request, "learn/glossary.html", {"course": course, "letters": letters, "count": len(terms)})


@router.get("/courses/{course_id}/faq", name="learn:faq")
async def faq_page(request: Request, course_id: Id, uow: UoW, viewer: Viewer) -> Response:
    course = await course_service.get(uow.session, course_id, viewer)
    entries = await course_service.faq(uow.session, course.id)
    rendered = [(e, course_service.preview(e.answer)) for e in entries]
    return render(request, "learn/faq.html", {"course": course, "entries": rendered})


@router.get("/progress", name="learn:progress")
async def progress_page(request: Request, uow: UoW, user: SignedIn) -> Response:
    stats = await gamification_service.progress(uow.session, user)
    board = await gamification_service.leaderboard(uow.session, user)
    certificates = [
        certificate_service.read(c) for c in await certificate_service.for_user(uow.session, user)
    ]
    return render(
        request, "learn/progress.html", {"stats": stats, "board": board, "certificates": certificates}
    )


@router.post("/progress/leaderboard", name="learn:leaderboard_visibility")
async def leaderboard_visibility(request: Request, uow: UoW, user: SignedIn) -> Response:
    data = await form_data(request)
    await gamification_service.set_leaderboard_hidden(uow.session, user, data.get("hidden") == "1")
    board = await gamification_service.leaderboard(uow.session, user)
    if not is_htmx(request):
        return RedirectResponse("/progress", status_code=303)
    return render(request, "learn/progress.html", {"board": board}, block="leaderboard")


@router.get("/certificates/{code}.pdf", name="learn:certificate_pdf")
async def certificate_pdf(code: Annotated[str, Path(max_length=40)], uow: UoW, _viewer: Viewer) -> Response:
    certificate = await certificate_service.get(uow.session, code)
    pdf = await certificate_service.pdf(certificate)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="certificate-{certificate.code}.pdf"'},
    )


@router.get("/certificates/{code}", name="learn:certificate")
async def certificate_page(
    request: Request, code: Annotated[str, Path(max_length=40)], uow: UoW, _viewer: Viewer
) -> Response:
    certificate = await certificate_service.find(uow.session, code)
    read = certificate_service.read(certificate) if certificate else None
    return render(
        request,
        "learn/certificate.html",
        {"certificate": read, "code": code, "errors": {}},
        status_code=200 if read else 404,
    )


@router.post("/certificates/{code}/revoke", name="learn:certificate_revoke")
async def revoke_certificate(
    request: Request,
    code: Annotated[str, Path(max_length=40)],
    uow: UoW,
    admin: Annotated[User, Depends(admin_only)],
) -> Response:
    parsed, errors = parse(CertificateRevoke, await form_data(request))
    if parsed is None:
        certificate = await certificate_service.get(uow.session, code)
        context = {"certificate": certificate_service.read(certificate), "code": code, "errors": errors}
        return render(request, "learn/certificate.html", context, status_code=422)
    certificate = await certificate_service.revoke(uow.session, code, parsed.reason, admin)
    return RedirectResponse(f"/certificates/{certificate.code}", status_code=303)


async def continue_learning(uow: UoW, user: User) -> dict[str, Any]:
    """Dashboard data: enrolled courses with where to continue, and the motivation summary."""
    enrollments = await enrollment_service.enrollments(uow.session, user, PageParams(page=1, size=6))
    stats = await gamification_service.progress(uow.session, user)
    return {"enrollments": enrollments.items, "stats": stats}
