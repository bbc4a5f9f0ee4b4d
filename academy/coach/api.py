from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from academy.auth.access import require, signed_in
from academy.coach.schemas import (
    CoachStats,
    ConversationRead,
    ConversationSummary,
    EscalationAnswer,
    EscalationRead,
    FeedbackCreate,
    MessageCreate,
    MessageRead,
)
from academy.coach.service import coach_service
from academy.coach.streaming import sse
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import Role, User

router = APIRouter(prefix="/coach", tags=["coach"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
SignedIn = Annotated[User, Depends(signed_in)]
Curator = Annotated[User, Depends(require(Role.curator, Role.admin))]
Paging = Annotated[PageParams, Depends(page_params)]

_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `meta`, then `token` pieces, then `done` (or `error`)",
        # Each event: its name and one line of JSON (see academy/coach/streaming.py).
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {"type": "string", "enum": ["meta", "token", "done", "error"]},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    }
}


@router.post("/messages", responses=_STREAM_DOC, response_class=StreamingResponse)
async def ask(data: MessageCreate, uow: UoW, user: SignedIn) -> StreamingResponse:
    """Ask the coach; the answer streams. 429 once the daily question limit is used up."""
    prepared = await coach_service.start(uow.session, user, data)
    # The question is committed before the first byte goes out; the answer stores itself at the end.
    return StreamingResponse(
        sse(prepared),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/conversations")
async def my_conversations(uow: UoW, user: SignedIn, params: Paging) -> Page[ConversationSummary]:
    return await coach_service.conversations(uow.session, user, params)


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: Id, uow: UoW, user: SignedIn) -> ConversationRead:
    return await coach_service.conversation(uow.session, user, conversation_id)


@router.post("/conversations/{conversation_id}/escalation", status_code=201)
async def ask_a_human(conversation_id: Id, uow: UoW, user: SignedIn) -> EscalationRead:
    return await coach_service.ask_human(uow.session, user, conversation_id)


@router.post("/messages/{message_id}/feedback")
async def give_feedback(message_id: Id, data: FeedbackCreate, uow: UoW, user: SignedIn) -> MessageRead:
    return await coach_service.feedback(uow.session, user, message_id, data)


@router.get("/escalations")
async def escalations(
    uow: UoW,
    curator: Curator,
    params: Paging,
    status: Annotated[str | None, Query(pattern="^(open|answered|all)$")] = "open",
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[EscalationRead]:
    """The curators' queue, oldest first: their courses' questions (admins see all)."""
    return await coach_service.escalations(
        uow.session, curator, params, status=None if status == "all" else status, course_id=course_id
    )


@router.get("/escalations/{escalation_id}")
async def get_escalation(escalation_id: Id, uow: UoW, curator: Curator) -> EscalationRead:
    return await coach_service.escalation(uow.session, curator, escalation_id)


@router.post("/escalations/{escalation_id}/answer")
async def answer_escalation(
    escalation_id: Id, data: EscalationAnswer, uow: UoW, curator: Curator
) -> EscalationRead:
    return await coach_service.answer_escalation(uow.session, curator, escalation_id, data)


@router.get("/stats")
async def stats(
    uow: UoW,
    curator: Curator,
    start: datetime | None = None,
    end: datetime | None = None,
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> CoachStats:
    """AI resolution rate, response times, feedback, escalations by topic and clusters of questions
    the coach could not answer, for [start, end) (the last 30 days by default)."""
    return await coach_service.stats(uow.session, curator, start=start, end=end, course_id=course_id)
