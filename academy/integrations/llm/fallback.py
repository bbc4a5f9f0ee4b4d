"""A primary LLM with a secondary that answers whenever the primary cannot.

Before the primary's first piece, a failure is invisible: the secondary answers the whole request.
After it, the student has already read part of an answer, so that part stays; we add a short notice
that the model broke off and then the secondary's complete answer. The student always gets a whole
answer and never a half sentence without being told why it stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog

from academy.integrations.llm.protocol import LLM, AnswerRequest, LLMError
from academy.integrations.llm.text import is_russian

log = structlog.get_logger()

_BROKE_OFF = {
    "en": "(The AI model stopped answering. Here is the answer from the course material instead:)",
    "ru": "(Модель ИИ перестала отвечать. Вот ответ по материалам курса:)",
}


class FallbackLLM:
    def __init__(self, primary: LLM, secondary: LLM) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = primary.name

    async def stream(self, request: AnswerRequest) -> AsyncIterator[str]:
        started = False
        try:
            async for piece in self.primary.stream(request):
                if piece:
                    started = True
                    yield piece
            return
        except LLMError as exc:
            log.warning(
                "llm.primary_failed", primary=self.primary.name, secondary=self.secondary.name,
                mid_stream=started, error=str(exc),
            )  # fmt: skip
        except Exception:
            # A bug in an adapter must not cost the student the answer; it is logged with its trace.
            log.exception("llm.primary_crashed", primary=self.primary.name, mid_stream=started)
        if started:
            russian = request.locale == "ru" or is_russian(request.question)
            notice = _BROKE_OFF["ru" if russian else "en"]
            yield f"…\n\n{notice}\n\n"
        async for piece in self.secondary.stream(request):
            yield piece
