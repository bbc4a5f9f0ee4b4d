from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from academy.models import CoachConversation, CoachEscalation, CoachMessage, Course, Lesson, User


class CoachRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    # --- conversations and messages ---

    async def conversation(self, conversation_id: int) -> CoachConversation | None:
        return await self.session.get(CoachConversation, conversation_id)

    async def conversations(
        self, user_id: int, *, offset: int, limit: int
    ) -> tuple[list[tuple[CoachConversation, int, bool]], int]:
        """The user's conversations, newest first, with their message count and an open escalation."""
        total = await self.session.scalar(
            select(func.count()).select_from(CoachConversation).where(CoachConversation.user_id == user_id)
        )
        counts = (
            select(CoachMessage.conversation_id, func.count().label("n"))
            .group_by(CoachMessage.conversation_id)
            .subquery()
        )
        waiting = (
            select(CoachEscalation.conversation_id)
            .where(CoachEscalation.status == "open")
            .distinct()
            .subquery()
        )
        rows = await self.session.execute(
            select(CoachConversation, func.coalesce(counts.c.n, 0), waiting.c.conversation_id.is_not(None))
            .outerjoin(counts, counts.c.conversation_id == CoachConversation.id)
            .outerjoin(waiting, waiting.c.conversation_id == CoachConversation.id)
            .where(CoachConversation.user_id == user_id)
            .order_by(CoachConversation.updated_at.desc(), CoachConversation.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(c, int(n), bool(w)) for c, n, w in rows.tuples()], int(total or 0)

    async def messages(self, conversation_id: int, *, up_to: int | None = None) -> list[CoachMessage]:
        stmt = select(CoachMessage).where(CoachMessage.conversation_id == conversation_id)
        if up_to is not None:
            stmt = stmt.where(CoachMessage.id <= up_to)
        return list(await self.session.scalars(stmt.order_by(CoachMessage.id)))

    async def message(self, message_id: int) -> CoachMessage | None:
        return await self.session.get(CoachMessage, message_id)

    async def questions_since(self, user_id: int, since: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(CoachMessage)
            .join(CoachConversation, CoachConversation.id == CoachMessage.conversation_id)
            .where(
                CoachConversation.user_id == user_id,
                CoachMessage.role == "user",
                CoachMessage.created_at >= since,
            )
        )
        return int(await self.session.scalar(stmt) or 0)

    async def author_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        rows = await self.session.execute(select(User.id, User.name, User.email).where(User.id.in_(user_ids)))
        return {i: name or (email or "").split("@")[0] for i, name, email in rows.tuples()}

    # --- escalations ---

    async def escalation(self, escalation_id: int) -> CoachEscalation | None:
        return await self.session.get(CoachEscalation, escalation_id)

    async def open_escalation(self, conversation_id: int) -> CoachEscalation | None:
        return await self.session.scalar(
            select(CoachEscalation).where(
                CoachEscalation.conversation_id == conversation_id, CoachEscalation.status == "open"
            )
        )

    async def escalations(
        self,
        *,
        status: str | None,
        course_ids: Sequence[int] | None,
        course_id: int | None,
        offset: int,
        limit: int,
    ) -> tuple[list[CoachEscalation], int]:
        """Oldest first: the queue is worked in the order students asked."""
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(CoachEscalation.status == status)
        if course_ids is not None:
            # A curator sees their courses' questions, and the ones asked outside any course.
            conditions.append(CoachEscalation.course_id.in_(course_ids) | CoachEscalation.course_id.is_(None))
        if course_id is not None:
            conditions.append(CoachEscalation.course_id == course_id)
        where = and_(*conditions) if conditions else and_(True)
        total = await self.session.scalar(select(func.count()).select_from(CoachEscalation).where(where))
        rows = await self.session.scalars(
            select(CoachEscalation)
            .where(where)
            .order_by(CoachEscalation.created_at, CoachEscalation.id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)

    async def titles(
        self, course_ids: Sequence[int], lesson_ids: Sequence[int]
    ) -> tuple[dict[int, str], dict[int, str]]:
        courses = (
            dict(
                (await self.session.execute(select(Course.id, Course.title).where(Course.id.in_(course_ids))))
                .tuples()
                .all()
            )
            if course_ids
            else {}
        )
        lessons = (
            dict(
                (await self.session.execute(select(Lesson.id, Lesson.title).where(Lesson.id.in_(lesson_ids))))
                .tuples()
                .all()
            )
            if lesson_ids
            else {}
        )
        return courses, lessons

    # --- figures for the stats ---

    async def assistant_turns(
        self, start: datetime, end: datetime, *, course_id: int | None
    ) -> list[CoachMessage]:
        stmt = select(CoachMessage).where(
            CoachMessage.role == "assistant", CoachMessage.created_at >= start, CoachMessage.created_at < end
        )
        return list(await self.session.scalars(self._in_course(stmt, course_id)))

    async def question_count(self, start: datetime, end: datetime, *, course_id: int | None) -> int:
        stmt = (
            select(func.count())
            .select_from(CoachMessage)
            .where(
                CoachMessage.role == "user", CoachMessage.created_at >= start, CoachMessage.created_at < end
            )
        )
        return int(await self.session.scalar(self._in_course(stmt, course_id)) or 0)

    @staticmethod
    def _in_course(stmt: Any, course_id: int | None) -> Any:
        if course_id is None:
            return stmt
        return stmt.join(CoachConversation, CoachConversation.id == CoachMessage.conversation_id).where(
            CoachConversation.course_id == course_id
        )

    async def escalations_between(
        self, start: datetime, end: datetime, *, course_id: int | None
    ) -> list[CoachEscalation]:
        stmt = select(CoachEscalation).where(
            CoachEscalation.created_at >= start, CoachEscalation.created_at < end
        )
        if course_id is not None:
            stmt = stmt.where(CoachEscalation.course_id == course_id)
        return list(await self.session.scalars(stmt))
