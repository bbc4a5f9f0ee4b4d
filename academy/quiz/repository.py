from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from academy.kit.repository import Repository
from academy.models import QuizAttempt


class QuizRepository(Repository[QuizAttempt]):
    model = QuizAttempt

    async def attempts(
        self, quiz_id: int, user_id: int | None, *, offset: int, limit: int
    ) -> tuple[Sequence[QuizAttempt], int]:
        stmt = select(QuizAttempt).where(QuizAttempt.quiz_id == quiz_id)
        if user_id is not None:
            stmt = stmt.where(QuizAttempt.user_id == user_id)
        total = await self.count(stmt)
        rows = await self.all(
            stmt.order_by(QuizAttempt.created_at.desc(), QuizAttempt.id.desc()).offset(offset).limit(limit)
        )
        return rows, total

    async def has_failed(self, quiz_id: int, user_id: int) -> bool:
        stmt = select(QuizAttempt.id).where(
            QuizAttempt.quiz_id == quiz_id, QuizAttempt.user_id == user_id, QuizAttempt.passed.is_(False)
        )
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def best(self, quiz_id: int, user_id: int) -> QuizAttempt | None:
        stmt = (
            select(QuizAttempt)
            .where(QuizAttempt.quiz_id == quiz_id, QuizAttempt.user_id == user_id)
            .order_by(QuizAttempt.score.desc(), QuizAttempt.id)
            .limit(1)
        )
        return await self.one_or_none(stmt)
