from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from academy.kit.repository import Repository
from academy.models import Enrollment, Lesson, Question, Quiz, QuizAttempt


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

    async def unpassed_questions(self, user_id: int) -> list[tuple[Question, Lesson]]:
        """Questions of quizzes the user has not passed, in the courses they are enrolled in."""
        passed = select(QuizAttempt.quiz_id).where(
            QuizAttempt.user_id == user_id, QuizAttempt.passed.is_(True)
        )
        enrolled = select(Enrollment.course_id).where(Enrollment.user_id == user_id)
        stmt = (
            select(Question, Lesson)
            .join(Quiz, Quiz.id == Question.quiz_id)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .where(Lesson.course_id.in_(enrolled), Quiz.id.not_in(passed))
            .order_by(Lesson.id, Question.position)
        )
        return [(q, lesson) for q, lesson in (await self.session.execute(stmt)).tuples()]

    async def recent(self, user_id: int, limit: int) -> list[tuple[QuizAttempt, Lesson]]:
        stmt = (
            select(QuizAttempt, Lesson)
            .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .where(QuizAttempt.user_id == user_id)
            .order_by(QuizAttempt.created_at.desc(), QuizAttempt.id.desc())
            .limit(limit)
        )
        return [(a, lesson) for a, lesson in (await self.session.execute(stmt)).tuples()]
