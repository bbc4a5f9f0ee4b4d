"""The AI coach's pages: the chat (and its streaming endpoint), the curators' queue and the stats.

The JSON API under /api/v1/coach is bearer-only; these cookie-authenticated routes call the same
service, so the pages and the API cannot drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from markupsafe import Markup

from academy.auth.access import require, signed_in
from academy.coach.schemas import (
    EscalationAnswer,
    FeedbackCreate,
    MessageCreate,
    MessageRead,
)
from academy.coach.service import coach_service
from academy.coach.streaming import sse
from academy.course.service import course_service
from academy.enrollment.service import enrollment_service
from academy.kit import htmx, i18n
from academy.kit.deps import UoW
from academy.kit.errors import TooManyRequests, Unprocessable
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.web.forms import form_data, parse
from academy.web.templating import env, is_htmx, page_renderer

router = APIRouter(prefix="/coach")
SignedIn = Annotated[User, Depends(signed_in)]
Curator = Annotated[User, Depends(require(Role.curator, Role.admin))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
_ = i18n.gettext

HISTORY_SIZE = 30
QUEUE_SIZE = 20
# A citation marker the answerers put in the text: "[1]", "[2]" … (never more than a handful).
_MARKER = re.compile(r"\[(\d{1,2})\]")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


def _safe_url(url: str) -> str:
    """Citation links come from our own index; still, only site paths and http(s) become links."""
    return url if url.startswith(("/", "https://", "http://")) and not url.startswith("//") else "#"


_MARKER_LINK = Markup(
    '<sup><a href="{}" class="coach-marker" title="{}" data-testid="citation-marker">[{}]</a></sup>'
)


def message_html(message: MessageRead) -> Markup:
    """A turn's text as safe HTML: escaped, paragraphs kept, `[n]` markers linked to citation n."""
    citations = {c.n: c for c in message.citations}

    def paragraph(text: str) -> Markup:
        parts: list[str | Markup] = []
        last = 0
        for match in _MARKER.finditer(text):
            parts.append(text[last : match.start()])
            citation = citations.get(int(match.group(1)))
            if citation is None:
                parts.append(match.group(0))
            else:
                parts.append(_MARKER_LINK.format(_safe_url(citation.url), citation.title, citation.n))
            last = match.end()
        parts.append(text[last:])
        # Markup.join escapes the plain pieces and keeps the links.
        lines = Markup("").join(parts).split("\n")
        return Markup("<p>{}</p>").format(Markup("<br>").join(lines))

    paragraphs = [p.strip() for p in _PARAGRAPH.split(message.text.strip()) if p.strip()]
    return Markup("").join(paragraph(p) for p in paragraphs)


def _helpers(user: User) -> dict[str, Any]:
    return {"coach_text": message_html, "coach_url": _safe_url, "tz": user.timezone}


_page = page_renderer(_helpers)


def _optional_int(value: str | None) -> str | None:
    """Empty form fields mean "not given" (the panel leaves conversation_id empty for a new chat)."""
    return value.strip() if value and value.strip() else None


# --- chat -------------------------------------------------------------------------------------------


def example_questions() -> list[str]:
    """Shown on an empty chat: questions the Trading Foundations course answers well."""
    return [
        _("What is a stop-loss and where do I put it?"),
        _("How much of my account should I risk on one trade?"),
        _("What is the difference between a market order and a limit order?"),
        _("Why does the spread matter for a beginner?"),
    ]


@router.get("", name="coach:chat")
async def chat(request: Request, uow: UoW, user: SignedIn, c: OptionalId = None) -> Response:
    history = await coach_service.conversations(uow.session, user, PageParams(page=1, size=HISTORY_SIZE))
    conversation = await coach_service.conversation(uow.session, user, c) if c else None
    context: dict[str, Any] = {
        "history": history,
        "conversation": conversation,
        "remaining": await coach_service.remaining_today(uow.session, user),
    }
    # The history list refreshes itself after a new conversation starts (see coach.js).
    if is_htmx(request) and request.headers.get("hx-target") == "coach-history":
        return _page(request, user, "coach/chat.html", context, block="history")
    if conversation is None:
        context |= await _new_conversation_choices(uow, user)
    return _page(request, user, "coach/chat.html", context)


async def _new_conversation_choices(uow: UnitOfWork, user: User) -> dict[str, Any]:
    """A new conversation is about one of the student's courses (the one studied last by default),
    so Alex searches that course first and a curator's answer can go to its FAQ."""
    enrolled = (await enrollment_service.enrollments(uow.session, user, PageParams(page=1, size=50))).items
    current = max(enrolled, key=lambda e: e.last_seen_at or e.enrolled_at, default=None)
    return {
        "course_choices": [(e.course_id, e.course_title) for e in enrolled],
        "coach_course_id": current.course_id if current else None,
        "examples": example_questions(),
    }


@router.get("/conversations/{conversation_id}", name="coach:conversation")
async def conversation_fragment(request: Request, conversation_id: Id, uow: UoW, user: SignedIn) -> Response:
    """One conversation as a fragment: polled while it waits for a curator, reloaded after an answer."""
    conversation = await coach_service.conversation(uow.session, user, conversation_id)
    return _page(request, user, "coach/_conversation.html", {"conversation": conversation})


def _message_create(data: dict[str, Any]) -> MessageCreate:
    values = {
        "text": data.get("text", ""),
        "conversation_id": _optional_int(data.get("conversation_id")),
        "course_id": _optional_int(data.get("course_id")),
        "lesson_id": _optional_int(data.get("lesson_id")),
    }
    parsed, errors = parse(MessageCreate, values)
    if parsed is not None:
        return parsed
    if "text" in errors:
        too_long = len(str(values["text"])) > 2000
        raise Unprocessable(
            _("A question can be at most 2000 characters") if too_long else _("Write a question")
        )
    raise Unprocessable(_("This conversation or lesson does not exist"))


@router.post("/messages", name="coach:send")
async def send(request: Request, uow: UoW, user: SignedIn) -> Response:
    """Ask the coach; the answer streams back as Server-Sent Events (coach.js reads them with fetch).

    Failures before the stream starts (the daily limit, a bad form) are ordinary errors: coach.js
    sends HX-Request, so they come back as a toast message it shows next to the input.
    """
    data = _message_create(await form_data(request))
    try:
        prepared = await coach_service.start(uow.session, user, data)
    except TooManyRequests as exc:
        # The daily limit is checked before anything is stored; say it in the student's language.
        message = _("You have used all of today's messages to Alex. Come back tomorrow.")
        return htmx.toast(Response(status_code=429, headers=exc.headers), message)
    render_done = _done_renderer(request, user)
    return StreamingResponse(
        _with_rendered_answer(sse(prepared), render_done),
        media_type="text/event-stream",
        # Proxies must pass tokens on as they come (nginx buffers otherwise).
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _done_renderer(request: Request, user: User) -> Callable[[dict[str, Any]], str]:
    """Renders the final bubble. Runs while streaming, after the unit of work has closed, so it
    uses only what is captured here, never the database."""
    template = env.get_template("coach/_message.html")
    helpers = _helpers(user)

    def render_done(payload: dict[str, Any]) -> str:
        message = MessageRead.model_validate(payload["message"])
        context = {
            "request": request,
            "m": message,
            "just_escalated": payload.get("escalation_id") is not None,
            **helpers,
        }
        return template.render(context)

    return render_done


async def _with_rendered_answer(
    events: AsyncIterator[str], render_done: Callable[[dict[str, Any]], str]
) -> AsyncIterator[str]:
    """Pass the service's events through, adding the server-rendered bubble to `done` as "html".

    The page swaps that HTML in, so citations, feedback buttons and the escalation note look exactly
    as they do after a reload. Events are re-framed on blank lines in case a chunk holds several.
    """
    buffer = ""
    async for chunk in events:
        buffer += chunk
        while "\n\n" in buffer:
            event, buffer = buffer.split("\n\n", 1)
            yield _enrich(event, render_done) + "\n\n"
    if buffer:
        yield buffer


def _enrich(event: str, render_done: Callable[[dict[str, Any]], str]) -> str:
    lines = event.split("\n")
    if "event: done" not in lines:
        return event
    data = "\n".join(line.removeprefix("data:").strip() for line in lines if line.startswith("data:"))
    try:
        payload = json.loads(data)
        payload["html"] = render_done(payload)
    except (ValueError, KeyError, TypeError):
        # The page falls back to reloading the conversation when "html" is missing.
        return event
    return "event: done\ndata: " + json.dumps(payload, separators=(",", ":"))


@router.post("/messages/{message_id}/feedback", name="coach:feedback")
async def feedback(request: Request, message_id: Id, uow: UoW, user: SignedIn) -> Response:
    data = await form_data(request)
    # A form sends text, and a Literal[1, -1] does not coerce "1".
    value = {"1": 1, "-1": -1}.get(data.get("value", "").strip())
    parsed, errors = parse(
        FeedbackCreate, {"value": value, "comment": data.get("comment", "").strip() or None}
    )
    if parsed is None:
        raise Unprocessable(
            _("A comment can be at most 1000 characters")
            if "comment" in errors
            else _("Choose thumbs up or down")
        )
    message = await coach_service.feedback(uow.session, user, message_id, parsed)
    return _page(request, user, "coach/_message.html", {"m": message, "thanked": True})


@router.post("/conversations/{conversation_id}/ask-human", name="coach:ask_human")
async def ask_human(request: Request, conversation_id: Id, uow: UoW, user: SignedIn) -> Response:
    await coach_service.ask_human(uow.session, user, conversation_id)
    conversation = await coach_service.conversation(uow.session, user, conversation_id)
    return _page(request, user, "coach/_conversation.html", {"conversation": conversation})


# --- curators' queue --------------------------------------------------------------------------------


async def _courses_for(uow: UnitOfWork, user: User) -> list[Any]:
    """Courses a curator may filter by: the ones they curate; admins see every course."""
    courses = list(await course_service.all_courses(uow.session))
    if user.role == Role.admin:
        return courses
    curated = await enrollment_service.curated_course_ids(uow.session, user)
    return [c for c in courses if c.id in curated]


@router.get("/queue", name="coach:queue")
async def queue(
    request: Request,
    uow: UoW,
    user: Curator,
    status: Literal["open", "answered", "all"] = "open",
    course: OptionalId = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    escalations = await coach_service.escalations(
        uow.session,
        user,
        PageParams(page=page, size=QUEUE_SIZE),
        status=None if status == "all" else status,
        course_id=course,
    )
    context = {
        "escalations": escalations,
        "status": status,
        "course": course,
        "courses": await _courses_for(uow, user),
    }
    return _page(request, user, "coach/queue.html", context)


@router.post("/queue/{escalation_id}/answer", name="coach:answer")
async def answer(request: Request, escalation_id: Id, uow: UoW, user: Curator) -> Response:
    data = await form_data(request)
    values = {
        "answer": data.get("answer", "").strip(),
        "publish": data.get("publish") == "on",
        "faq_question": data.get("faq_question", "").strip() or None,
    }
    parsed, errors = parse(EscalationAnswer, values)
    if parsed is None:
        escalation = await coach_service.escalation(uow.session, user, escalation_id)
        messages = {
            "answer": _("Write an answer of at least 3 characters"),
            "faq_question": _("Write the FAQ question in at least 5 characters"),
        }
        context = {
            "e": escalation,
            "errors": {field: messages.get(field, _("Please check this field")) for field in errors},
            "given": values,
        }
        return _page(request, user, "coach/_escalation.html", context, status_code=422)
    escalation = await coach_service.answer_escalation(uow.session, user, escalation_id, parsed)
    return _page(request, user, "coach/_escalation.html", {"e": escalation, "just_answered": True})


# --- stats ------------------------------------------------------------------------------------------


def _day_start(value: str, tz: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(value.strip()), time.min, tzinfo=tz)


@router.get("/stats", name="coach:stats")
async def stats(
    request: Request,
    uow: UoW,
    user: Curator,
    start: Annotated[str | None, Query(max_length=10)] = None,
    end: Annotated[str | None, Query(max_length=10)] = None,
    course: OptionalId = None,
) -> Response:
    """Dates are days in the viewer's time zone; the end day counts in full."""
    try:
        tz = ZoneInfo(user.timezone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    errors: dict[str, str] = {}
    since = until = None
    for field, value in (("start", start), ("end", end)):
        if not value:
            continue
        try:
            day = _day_start(value, tz)
        except ValueError:
            errors[field] = _("Write the date as YYYY-MM-DD")
            continue
        if field == "start":
            since = day
        else:
            until = day + timedelta(days=1)
    if since and until and since >= until:
        errors["end"] = _("The end date must not be before the start date")
    context: dict[str, Any] = {
        "start": start or "",
        "end": end or "",
        "course": course,
        "courses": await _courses_for(uow, user),
        "errors": errors,
        "stats": None,
    }
    if errors:
        return _page(request, user, "coach/stats.html", context, status_code=422)
    result = await coach_service.stats(uow.session, user, start=since, end=until, course_id=course)
    context["stats"] = result
    context["shown_end"] = result.end - timedelta(microseconds=1)
    context["topics"] = {
        "labels": [t.topic for t in result.escalations_by_topic],
        "values": [t.escalations for t in result.escalations_by_topic],
    }
    return _page(request, user, "coach/stats.html", context)
