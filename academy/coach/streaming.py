"""The coach's answer as Server-Sent Events, for the API and the chat page alike.

Events, each `event: <name>` and one JSON `data:` line: `meta` (conversation, question, mode) first,
then `token` pieces of the answer, then `done` (the stored message, and the escalation if any), or
`error` when something broke after the response had started.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import structlog

from academy.coach.service import Prepared, coach_service

log = structlog.get_logger()


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def sse(prepared: Prepared) -> AsyncIterator[str]:
    yield event(
        "meta",
        {
            "conversation_id": prepared.conversation_id,
            "question_id": prepared.question_id,
            "mode": prepared.mode,
        },
    )
    try:
        async for item in coach_service.answer(prepared):
            yield event(item.kind, item.data)
    except Exception:  # the status line has gone out: the only way left to report is an event
        log.exception("coach.stream_failed", conversation_id=prepared.conversation_id)
        yield event(
            "error", {"error": "ServerError", "detail": "The answer could not be completed; try again."}
        )
