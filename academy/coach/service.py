"""The AI coach "Alex": grounded answers with citations, hints for graded work, and escalation to the
curators, whose answers can teach the coach. The only entry point to the coach domain.

A question is handled in two steps, because answers stream: `start` (inside the request's unit of
work) stores the question, retrieves passages and decides how to answer; `answer` then streams the
answer and, when it ends, stores it in its own unit of work (the request's has committed by then).
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.coach import policy
from academy.coach.knowledge import Hit, knowledge_service
from academy.coach.repository import CoachRepository
from academy.coach.schemas import (
    CitationRead,
    CoachStats,
    ConversationRead,
    ConversationSummary,
    EscalationAnswer,
    EscalationRead,
    FeedbackCreate,
    MessageCreate,
    MessageRead,
    QuestionCluster,
    TopicCount,
)
from academy.config import get_settings
from academy.course.service import course_service
from academy.enrollment.service import enrollment_service
from academy.homework.service import homework_service
from academy.integrations.llm import llm
from academy.integrations.llm.citations import cited_numbers, strip_invalid
from academy.integrations.llm.protocol import LLM, AnswerRequest, LLMError, Passage, Turn
from academy.kit import clock, i18n
from academy.kit.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.kit.uow import UnitOfWork
from academy.models import CoachConversation, CoachEscalation, CoachMessage, Role, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.quiz.service import quiz_service
from academy.user.service import user_service

log = structlog.get_logger()
_ = i18n.gettext

Mode = Literal["answer", "hint", "refusal", "uncovered"]
NOTIFICATION_KIND = "coach"
PASSAGES = 5
HISTORY_TURNS = 6
_PIECE = re.compile(r"\S+\s*")


@dataclass
class Prepared:
    """What `start` decided; `answer` streams from it. Plain data: it outlives the request's session."""

    user_id: int
    locale: str
    conversation_id: int
    question_id: int
    question: str
    course_id: int | None
    lesson_id: int | None
    mode: Mode
    confidence: float | None
    passages: list[Passage] = field(default_factory=list)
    request: AnswerRequest | None = None
    # Set when the answer is decided without the model (refusals, uncovered questions).
    fixed_text: str | None = None
    escalate: bool = False
    trade_notice: bool = False


@dataclass(frozen=True)
class StreamEvent:
    kind: Literal["token", "done"]
    data: dict[str, Any]


def _is_staff(user: User) -> bool:
    return Role(user.role).is_staff


def _citation(passage: Passage) -> dict[str, Any]:
    return {
        "n": passage.n,
        "document_id": passage.document_id,
        "kind": passage.kind,
        "title": passage.title,
        "heading": passage.heading,
        "url": passage.url,
    }


def _passage(n: int, hit: Hit) -> Passage:
    return Passage(
        n=n,
        document_id=hit.document_id,
        kind=hit.kind,
        title=hit.title,
        heading=hit.heading,
        url=hit.url,
        text=hit.text,
    )


def _pieces(text: str) -> list[str]:
    return _PIECE.findall(text) or [text]


class CoachService:
    # --- asking ---

    async def start(self, session: AsyncSession, user: User, data: MessageCreate) -> Prepared:
        """Store the question and decide how to answer it. Raises TooManyRequests over the daily limit."""
        await self._check_limit(session, user)
        repo = CoachRepository(session)
        conversation = await self._conversation_for(session, user, data)
        question = CoachMessage(conversation_id=conversation.id, role="user", text=data.text, citations=[])
        await repo.add(question)
        conversation.updated_at = clock.now()
        locale = "ru" if policy.is_russian(data.text) else user.locale
        prepared = Prepared(
            user_id=user.id,
            locale=locale,
            conversation_id=conversation.id,
            question_id=question.id,
            question=data.text,
            course_id=conversation.course_id,
            lesson_id=conversation.lesson_id,
            mode="answer",
            confidence=None,
            trade_notice=policy.asks_for_trade_advice(data.text),
        )
        safety = policy.safety(data.text)
        if safety != "ok":
            prepared.mode = "refusal"
            with i18n.use_locale(locale):
                prepared.fixed_text = (
                    _(
                        "I'm really sorry you're going through this. I can't help with it here, but "
                        "please talk to someone now: a person you trust, your doctor, or a local "
                        "crisis line. If you are in danger, call your emergency number."
                    )
                    if safety == "self_harm"
                    else _(
                        "Sorry, I can't help with that. I'm here for questions about trading and your course."
                    )
                )
            return prepared

        hits = await knowledge_service.retrieve(
            session, data.text, course_id=conversation.course_id, limit=PASSAGES
        )
        confidence = knowledge_service.confidence(data.text, hits)
        prepared.confidence = confidence
        prepared.passages = [_passage(n, hit) for n, hit in enumerate(hits[:PASSAGES], start=1)]
        graded = await self._graded_item(session, user, data.text)
        if graded is None and confidence < get_settings().coach_confidence_threshold:
            with i18n.use_locale(locale):
                if not policy.on_topic(data.text, [h.title for h in hits[:3]]):
                    prepared.mode = "refusal"
                    prepared.fixed_text = _(
                        "That's outside what I can help with. Ask me about trading, the lessons, "
                        "quizzes or your progress, and I'll answer from the course."
                    )
                else:
                    prepared.mode = "uncovered"
                    prepared.escalate = True
                    prepared.fixed_text = _(
                        "The course material doesn't cover this well enough for me to answer "
                        "reliably, so I've passed your question to a curator. You'll get their "
                        "answer here and a notification."
                    )
            prepared.passages = []
            return prepared

        if graded is not None:
            # A hint points at the lesson the graded item belongs to, so that lesson leads the passages.
            own = [h for h in hits if h.kind == "lesson" and h.ref_id == graded.lesson_id]
            if not own:
                found = await knowledge_service.retrieve(
                    session, graded.lesson_title, course_id=graded.course_id, limit=PASSAGES
                )
                own = [h for h in found if h.kind == "lesson" and h.ref_id == graded.lesson_id]
            hits = own[:2] + [h for h in hits if h not in own]
            prepared.passages = [_passage(n, hit) for n, hit in enumerate(hits[:PASSAGES], start=1)]
        prepared.mode = "hint" if graded is not None else "answer"
        history = await self._history(session, conversation.id, before=question.id)
        prepared.request = AnswerRequest(
            question=data.text,
            passages=prepared.passages,
            history=history,
            locale=locale,
            mode="hint" if graded is not None else "answer",
            context=await self._context(session, user, conversation, graded),
        )
        return prepared

    async def answer(self, prepared: Prepared, model: LLM | None = None) -> AsyncIterator[StreamEvent]:
        """Stream the answer, then store it (and escalate when needed) in a unit of work of its own."""
        started = time.perf_counter()
        first_token_ms: int | None = None
        parts: list[str] = []
        provider = "policy"
        if prepared.fixed_text is not None:
            for piece in _pieces(prepared.fixed_text):
                if first_token_ms is None:
                    first_token_ms = int((time.perf_counter() - started) * 1000)
                parts.append(piece)
                yield StreamEvent("token", {"text": piece})
        else:
            assert prepared.request is not None
            model = model or llm()
            provider = model.name
            try:
                async for piece in model.stream(prepared.request):
                    if first_token_ms is None:
                        first_token_ms = int((time.perf_counter() - started) * 1000)
                    parts.append(piece)
                    yield StreamEvent("token", {"text": piece})
            except LLMError as exc:
                log.warning("coach.answer_failed", provider=provider, error=str(exc))
        text = "".join(parts).strip()
        allowed = {p.n for p in prepared.passages}
        text = strip_invalid(text, allowed)
        cited = [n for n in cited_numbers(text) if n in allowed]
        mode: Mode = prepared.mode
        escalate = prepared.escalate
        if mode in ("answer", "hint") and not cited:
            # An answer that cites nothing is not grounded in the material: a curator should look.
            mode, escalate = "uncovered", True
            if not text:
                with i18n.use_locale(prepared.locale):
                    text = _("I couldn't answer this from the course, so I've passed it to a curator.")
                yield StreamEvent("token", {"text": text})
        if prepared.trade_notice and mode != "refusal":
            with i18n.use_locale(prepared.locale):
                notice = "\n\n" + _(
                    "This is educational material, not financial advice: I can't tell you what to "
                    "buy or sell. Decide with your own plan and risk limits."
                )
            text += notice
            yield StreamEvent("token", {"text": notice})
        by_n = {p.n: p for p in prepared.passages}
        message = CoachMessage(
            conversation_id=prepared.conversation_id,
            role="assistant",
            text=text,
            citations=[_citation(by_n[n]) for n in cited],
            confidence=prepared.confidence,
            provider=provider,
            mode=mode,
            latency_ms=int((time.perf_counter() - started) * 1000),
            first_token_ms=first_token_ms,
            escalated=escalate,
        )
        escalation_id = None
        async with UnitOfWork() as uow:
            await CoachRepository(uow.session).add(message)
            if escalate:
                user = await user_service.get(uow.session, prepared.user_id)
                escalation = await self._escalate(
                    uow.session, user, prepared.conversation_id, "low_confidence"
                )
                escalation_id = escalation.id if escalation else None
            read = (await self._message_reads(uow.session, [message]))[0]
        log.info(
            "coach.answered",
            conversation_id=prepared.conversation_id,
            message_id=message.id,
            mode=mode,
            provider=provider,
            escalated=escalate,
        )
        yield StreamEvent("done", {"message": read.model_dump(mode="json"), "escalation_id": escalation_id})

    async def remaining_today(self, session: AsyncSession, user: User) -> int | None:
        if _is_staff(user):
            return None
        asked = await CoachRepository(session).questions_since(user.id, _day_start())
        return max(0, get_settings().coach_daily_messages - asked)

    # --- conversations ---

    async def conversations(
        self, session: AsyncSession, user: User, params: PageParams
    ) -> Page[ConversationSummary]:
        rows, total = await CoachRepository(session).conversations(
            user.id, offset=params.offset, limit=params.size
        )
        items = [
            ConversationSummary(
                id=c.id,
                title=c.title,
                course_id=c.course_id,
                lesson_id=c.lesson_id,
                messages=n,
                waiting_for_curator=waiting,
                updated_at=c.updated_at,
            )
            for c, n, waiting in rows
        ]
        return Page(items=items, total=total, page=params.page, size=params.size)

    async def conversation(self, session: AsyncSession, user: User, conversation_id: int) -> ConversationRead:
        conversation = await self._own_conversation(session, user, conversation_id)
        repo = CoachRepository(session)
        messages = await self._message_reads(session, await repo.messages(conversation.id))
        return ConversationRead(
            id=conversation.id,
            title=conversation.title,
            course_id=conversation.course_id,
            lesson_id=conversation.lesson_id,
            waiting_for_curator=await repo.open_escalation(conversation.id) is not None,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            messages=messages,
        )

    async def feedback(
        self, session: AsyncSession, user: User, message_id: int, data: FeedbackCreate
    ) -> MessageRead:
        message = await CoachRepository(session).message(message_id)
        if message is None:
            raise NotFound("No such message")
        await self._own_conversation(session, user, message.conversation_id)
        if message.role != "assistant":
            raise Unprocessable("Only the coach's answers take feedback")
        message.feedback = data.value
        message.feedback_comment = (data.comment or "").strip() or None
        await session.flush()
        log.info("coach.feedback_given", message_id=message.id, value=data.value)
        return (await self._message_reads(session, [message]))[0]

    async def ask_human(self, session: AsyncSession, user: User, conversation_id: int) -> EscalationRead:
        """The student's "ask a human": the conversation's last question goes to the curators."""
        conversation = await self._own_conversation(session, user, conversation_id)
        escalation = await self._escalate(session, user, conversation.id, "asked_human")
        if escalation is None:
            raise Unprocessable("Ask a question first; a curator then answers it here")
        return (await self._escalation_reads(session, [escalation]))[0]

    # --- the curators' side ---

    async def escalations(
        self,
        session: AsyncSession,
        curator: User,
        params: PageParams,
        *,
        status: str | None = "open",
        course_id: int | None = None,
    ) -> Page[EscalationRead]:
        self._require_curator(curator)
        if status not in (None, "open", "answered"):
            raise Unprocessable("status is open or answered")
        scope = (
            None
            if curator.role == Role.admin
            else sorted(await enrollment_service.curated_course_ids(session, curator))
        )
        rows, total = await CoachRepository(session).escalations(
            status=status, course_ids=scope, course_id=course_id, offset=params.offset, limit=params.size
        )
        return Page(
            items=await self._escalation_reads(session, rows), total=total, page=params.page, size=params.size
        )

    async def escalation(self, session: AsyncSession, curator: User, escalation_id: int) -> EscalationRead:
        escalation = await self._curated_escalation(session, curator, escalation_id)
        return (await self._escalation_reads(session, [escalation]))[0]

    async def answer_escalation(
        self, session: AsyncSession, curator: User, escalation_id: int, data: EscalationAnswer
    ) -> EscalationRead:
        """Answer in the student's conversation, notify them, and optionally teach the coach: the answer
        becomes an FAQ entry of the course, which retrieval finds for the next student."""
        escalation = await self._curated_escalation(session, curator, escalation_id)
        if escalation.status != "open":
            raise Conflict("This question has been answered already")
        repo = CoachRepository(session)
        if data.publish:
            if escalation.course_id is None:
                raise Unprocessable(
                    "This question was asked outside a course; there is no course FAQ to publish to"
                )
            question = (data.faq_question or escalation.question).strip()
            entry = await course_service.publish_faq(
                session, escalation.course_id, question, data.answer.strip()
            )
            escalation.faq_entry_id = entry.id
        message = CoachMessage(
            conversation_id=escalation.conversation_id,
            role="curator",
            text=data.answer.strip(),
            citations=[],
            author_id=curator.id,
        )
        await repo.add(message)
        escalation.status = "answered"
        escalation.answer = data.answer.strip()
        escalation.answer_message_id = message.id
        escalation.answered_by_id = curator.id
        escalation.answered_at = clock.now()
        conversation = await repo.conversation(escalation.conversation_id)
        assert conversation is not None
        conversation.updated_at = clock.now()
        student = await user_service.get(session, escalation.user_id)
        with i18n.use_locale(student.locale):
            payload = NotificationPayload(
                kind=NOTIFICATION_KIND,
                title=_("A curator answered your question"),
                body=escalation.question[:300],
                link=f"/coach?c={escalation.conversation_id}",
            )
        await notification_service.notify(session, student.id, payload)
        log.info(
            "coach.escalation_answered",
            escalation_id=escalation.id,
            curator_id=curator.id,
            published=escalation.faq_entry_id is not None,
        )
        return (await self._escalation_reads(session, [escalation]))[0]

    async def stats(
        self,
        session: AsyncSession,
        viewer: User,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        course_id: int | None = None,
    ) -> CoachStats:
        """School-wide figures of the coach for [start, end) (the last 30 days by default)."""
        self._require_curator(viewer)
        if (
            course_id is not None
            and viewer.role != Role.admin
            and course_id not in await enrollment_service.curated_course_ids(session, viewer)
        ):
            raise NotFound("No such course")
        # A date-time without a zone is read as UTC, like every time the API stores.
        end = _utc(end) if end else clock.now()
        start = _utc(start) if start else end - timedelta(days=30)
        if start >= end:
            raise Unprocessable("The start must be before the end")
        repo = CoachRepository(session)
        turns = await repo.assistant_turns(start, end, course_id=course_id)
        escalations = await repo.escalations_between(start, end, course_id=course_id)
        questions = await repo.question_count(start, end, course_id=course_id)
        answered = sum(1 for t in turns if not t.escalated and t.mode in ("answer", "hint"))
        latencies = sorted(t.latency_ms for t in turns if t.latency_ms is not None)
        first = [t.first_token_ms for t in turns if t.first_token_ms is not None]
        return CoachStats(
            start=start,
            end=end,
            questions=questions,
            answered_by_ai=answered,
            resolution_rate=answered / len(turns) if turns else None,
            median_ms=float(statistics.median(latencies)) if latencies else None,
            p95_ms=_percentile(latencies, 0.95),
            first_token_median_ms=float(statistics.median(first)) if first else None,
            feedback_up=sum(1 for t in turns if t.feedback == 1),
            feedback_down=sum(1 for t in turns if t.feedback == -1),
            escalations=len(escalations),
            open_escalations=sum(1 for e in escalations if e.status == "open"),
            escalations_by_topic=await self._topics(session, escalations),
            unanswered_clusters=clusters([e.question for e in escalations]),
        )

    # --- internals ---

    async def _check_limit(self, session: AsyncSession, user: User) -> None:
        remaining = await self.remaining_today(session, user)
        if remaining is not None and remaining <= 0:
            tomorrow = _day_start() + timedelta(days=1)
            raise TooManyRequests(retry_after=max(1, int((tomorrow - clock.now()).total_seconds())))

    async def _conversation_for(
        self, session: AsyncSession, user: User, data: MessageCreate
    ) -> CoachConversation:
        if data.conversation_id is not None:
            return await self._own_conversation(session, user, data.conversation_id)
        course_id, lesson_id = data.course_id, data.lesson_id
        if lesson_id is not None:
            lesson = await course_service.lesson(session, lesson_id, user)
            course_id = lesson.course_id
        elif course_id is not None:
            await course_service.get(session, course_id, user)
        conversation = CoachConversation(
            user_id=user.id,
            course_id=course_id,
            lesson_id=lesson_id,
            title=_title(data.text),
            updated_at=clock.now(),
        )
        await CoachRepository(session).add(conversation)
        return conversation

    async def _own_conversation(
        self, session: AsyncSession, user: User, conversation_id: int
    ) -> CoachConversation:
        conversation = await CoachRepository(session).conversation(conversation_id)
        # Someone else's conversation does not exist, as far as the caller can tell.
        if conversation is None or conversation.user_id != user.id:
            raise NotFound("No such conversation")
        return conversation

    async def _history(self, session: AsyncSession, conversation_id: int, *, before: int) -> list[Turn]:
        messages = [m for m in await CoachRepository(session).messages(conversation_id) if m.id < before]
        turns = [Turn(role="user" if m.role == "user" else "assistant", text=m.text) for m in messages]
        return turns[-HISTORY_TURNS:]

    async def _graded_item(self, session: AsyncSession, user: User, question: str) -> Any:
        # Unpassed quiz items and unpassed written homework alike get hints, never the answer.
        items: list[Any] = [
            *await quiz_service.open_graded_items(session, user),
            *await homework_service.open_graded_items(session, user),
        ]
        index = policy.graded_match(question, [i.prompt for i in items])
        return items[index] if index is not None else None

    async def _context(
        self, session: AsyncSession, user: User, conversation: CoachConversation, graded: Any
    ) -> str:
        parts = []
        courses, lessons = await CoachRepository(session).titles(
            [conversation.course_id] if conversation.course_id else [],
            [conversation.lesson_id] if conversation.lesson_id else [],
        )
        if conversation.lesson_id in lessons:
            parts.append(f'The student is reading the lesson "{lessons[conversation.lesson_id]}".')
        if conversation.course_id in courses:
            parts.append(f'Their course is "{courses[conversation.course_id]}".')
        recent = await quiz_service.recent_results(session, user)
        if recent:
            results = "; ".join(
                f"{r.lesson_title}: {r.score}% ({'passed' if r.passed else 'not passed'})" for r in recent
            )
            parts.append(f"Recent quiz results: {results}.")
        if graded is not None:
            what = "homework" if hasattr(graded, "assignment_id") else "graded quiz"
            parts.append(
                f'The question restates an item of the {what} of "{graded.lesson_title}", which the '
                "student has not passed yet: give hints and point to the lesson, never the answer."
            )
        return " ".join(parts)

    async def _escalate(
        self, session: AsyncSession, user: User, conversation_id: int, reason: str
    ) -> CoachEscalation | None:
        """Open an escalation for the conversation's last question (one open at a time) and tell the
        curators of its course (the admins when the course has none, or there is no course)."""
        repo = CoachRepository(session)
        existing = await repo.open_escalation(conversation_id)
        if existing is not None:
            return existing
        questions = [m for m in await repo.messages(conversation_id) if m.role == "user"]
        if not questions:
            return None
        conversation = await repo.conversation(conversation_id)
        assert conversation is not None
        escalation = CoachEscalation(
            conversation_id=conversation_id,
            question_message_id=questions[-1].id,
            user_id=user.id,
            course_id=conversation.course_id,
            lesson_id=conversation.lesson_id,
            question=questions[-1].text,
            reason=reason,
            status="open",
        )
        await repo.add(escalation)
        recipients = (
            await enrollment_service.curator_ids(session, conversation.course_id)
            if conversation.course_id
            else []
        )
        if not recipients:
            admins = await user_service.search(session, PageParams(page=1, size=50), role=Role.admin)
            recipients = [a.id for a in admins.items]
        for recipient_id in recipients:
            recipient = await user_service.get(session, recipient_id)
            with i18n.use_locale(recipient.locale):
                payload = NotificationPayload(
                    kind=NOTIFICATION_KIND,
                    title=_("A student's question needs a curator"),
                    body=escalation.question[:300],
                    link="/coach/queue",
                )
            await notification_service.notify(session, recipient_id, payload, email=False)
        log.info(
            "coach.escalated", escalation_id=escalation.id, conversation_id=conversation_id, reason=reason
        )
        return escalation

    async def _curated_escalation(
        self, session: AsyncSession, curator: User, escalation_id: int
    ) -> CoachEscalation:
        self._require_curator(curator)
        escalation = await CoachRepository(session).escalation(escalation_id)
        if escalation is None:
            raise NotFound("No such question")
        if (
            curator.role != Role.admin
            and escalation.course_id is not None
            and escalation.course_id not in await enrollment_service.curated_course_ids(session, curator)
        ):
            raise NotFound("No such question")
        return escalation

    async def _message_reads(
        self, session: AsyncSession, messages: Sequence[CoachMessage]
    ) -> list[MessageRead]:
        names = await CoachRepository(session).author_names(
            sorted({m.author_id for m in messages if m.author_id})
        )
        return [
            MessageRead(
                id=m.id,
                conversation_id=m.conversation_id,
                role=m.role,  # type: ignore[arg-type]  # constrained by a CHECK
                text=m.text,
                citations=[CitationRead.model_validate(c) for c in m.citations or []],
                confidence=m.confidence,
                provider=m.provider,
                mode=m.mode,
                escalated=m.escalated,
                feedback=m.feedback,
                author_name=names.get(m.author_id) if m.author_id else None,
                created_at=m.created_at,
            )
            for m in messages
        ]

    async def _escalation_reads(
        self, session: AsyncSession, rows: Sequence[CoachEscalation]
    ) -> list[EscalationRead]:
        repo = CoachRepository(session)
        courses, lessons = await repo.titles(
            sorted({e.course_id for e in rows if e.course_id}),
            sorted({e.lesson_id for e in rows if e.lesson_id}),
        )
        names = await repo.author_names(
            sorted({e.user_id for e in rows} | {e.answered_by_id for e in rows if e.answered_by_id})
        )
        reads = []
        for e in rows:
            conversation = await repo.messages(e.conversation_id, up_to=e.question_message_id)
            reads.append(
                EscalationRead(
                    id=e.id,
                    conversation_id=e.conversation_id,
                    student_name=names.get(e.user_id, ""),
                    question=e.question,
                    reason=e.reason,  # type: ignore[arg-type]  # constrained by a CHECK
                    status=e.status,  # type: ignore[arg-type]  # constrained by a CHECK
                    course_id=e.course_id,
                    course_title=courses.get(e.course_id) if e.course_id else None,
                    lesson_id=e.lesson_id,
                    lesson_title=lessons.get(e.lesson_id) if e.lesson_id else None,
                    created_at=e.created_at,
                    answer=e.answer,
                    answered_at=e.answered_at,
                    answered_by_name=names.get(e.answered_by_id) if e.answered_by_id else None,
                    faq_entry_id=e.faq_entry_id,
                    conversation=await self._message_reads(session, conversation[-HISTORY_TURNS:]),
                )
            )
        return reads

    async def _topics(
        self, session: AsyncSession, escalations: Sequence[CoachEscalation]
    ) -> list[TopicCount]:
        counts = Counter((e.lesson_id, e.course_id) for e in escalations)
        courses, lessons = await CoachRepository(session).titles(
            sorted({c for _, c in counts if c}), sorted({lesson for lesson, _ in counts if lesson})
        )
        topics = [
            TopicCount(
                topic=lessons.get(lesson_id or 0) or courses.get(course_id or 0) or "General",
                lesson_id=lesson_id,
                course_id=course_id,
                escalations=n,
            )
            for (lesson_id, course_id), n in counts.items()
        ]
        return sorted(topics, key=lambda t: (-t.escalations, t.topic))[:20]

    @staticmethod
    def _require_curator(user: User) -> None:
        if user.role not in (Role.curator, Role.admin):
            raise Forbidden("Only curators and admins work the coach's queue")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _day_start() -> datetime:
    now = clock.now()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _title(question: str) -> str:
    first = question.strip().splitlines()[0]
    return first if len(first) <= 80 else first[:79].rstrip() + "…"


def _percentile(values: Sequence[int], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    # Nearest rank: a real observed time, never an interpolated one.
    rank = max(1, -(-int(q * len(ordered) * 1000) // 1000))
    return float(ordered[min(rank, len(ordered)) - 1])


def clusters(questions: Sequence[str], threshold: float = 0.34, limit: int = 10) -> list[QuestionCluster]:
    """Group similar questions (Jaccard similarity of their stems, single link) and label each group
    with its most central question: what students keep asking that the material does not answer."""
    items = [(q, policy.stems(q)) for q in questions if q.strip()]
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def similarity(a: set[str], b: set[str]) -> float:
        return len(a & b) / len(a | b) if a and b else 0.0

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if similarity(items[i][1], items[j][1]) >= threshold:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    result = []
    for members in groups.values():
        central = max(
            members,
            key=lambda i: (sum(similarity(items[i][1], items[j][1]) for j in members), -len(items[i][0])),
        )
        result.append(
            QuestionCluster(
                label=items[central][0], size=len(members), examples=[items[i][0] for i in members[:5]]
            )
        )
    return sorted(result, key=lambda c: (-c.size, c.label))[:limit]


coach_service = CoachService()
