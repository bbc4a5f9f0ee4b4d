from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from academy.kit.repository import Repository
from academy.models import CourseCurator, Enrollment, Lesson, LessonProgress, Quiz, QuizAttempt


class EnrollmentRepository(Repository[Enrollment]):
    model = Enrollment

    async def find(self, user_id: int, course_id: int) -> Enrollment | None:
        stmt = select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)
        return await self.one_or_none(stmt)

    async def for_user(
        self, user_id: int, *, offset: int = 0, limit: int = 100
    ) -> tuple[Sequence[Enrollment], int]:
        stmt = select(Enrollment).where(Enrollment.user_id == user_id)
        total = await self.count(stmt)
        rows = await self.all(
            stmt.order_by(
                func.coalesce(Enrollment.last_seen_at, Enrollment.created_at).desc(), Enrollment.id.desc()
            )
            .offset(offset)
            .limit(limit)
        )
        return rows, total

    async def progress(self, user_id: int, lesson_ids: Sequence[int]) -> dict[int, LessonProgress]:
        if not lesson_ids:
            return {}
        stmt = select(LessonProgress).where(
            LessonProgress.user_id == user_id, LessonProgress.lesson_id.in_(lesson_ids)
        )
        return {p.lesson_id: p for p in (await self.session.execute(stmt)).scalars()}

    async def lesson_progress(self, user_id: int, lesson_id: int) -> LessonProgress | None:
        return await self.session.get(LessonProgress, (user_id, lesson_id))

    async def add_progress(self, progress: LessonProgress) -> LessonProgress:
        self.session.add(progress)
        await self.session.flush()
        return progress

    async def completed_counts(self, user_id: int, course_ids: Sequence[int]) -> dict[int, int]:
        if not course_ids:
            return {}
        stmt = (
            select(Lesson.course_id, func.count())
            .join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
            .where(
                LessonProgress.user_id == user_id,
                LessonProgress.completed_at.is_not(None),
                Lesson.course_id.in_(course_ids),
                Lesson.published.is_(True),
            )
            .group_by(Lesson.course_id)
        )
        return {cid: n for cid, n in (await self.session.execute(stmt)).all()}

    async def passed_quiz_ids(self, user_id: int, course_id: int) -> set[int]:
        stmt = (
            select(QuizAttempt.quiz_id)
            .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .where(
                QuizAttempt.user_id == user_id, QuizAttempt.passed.is_(True), Lesson.course_id == course_id
            )
            .distinct()
        )
        return set((await self.session.execute(stmt)).scalars())

    async def is_curator(self, user_id: int, course_id: int) -> bool:
        stmt = select(CourseCurator).where(
            CourseCurator.user_id == user_id, CourseCurator.course_id == course_id
        )
        return (await self.session.execute(stmt)).first() is not None

    async def curator_ids(self, course_id: int) -> list[int]:
        stmt = (
            select(CourseCurator.user_id)
            .where(CourseCurator.course_id == course_id)
            .order_by(CourseCurator.user_id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def curated_course_ids(self, user_id: int) -> set[int]:
        stmt = select(CourseCurator.course_id).where(CourseCurator.user_id == user_id)
        return set((await self.session.execute(stmt)).scalars())

    async def assign_curator(self, user_id: int, course_id: int) -> None:
        if not await self.is_curator(user_id, course_id):
            self.session.add(CourseCurator(user_id=user_id, course_id=course_id))
            await self.session.flush()
