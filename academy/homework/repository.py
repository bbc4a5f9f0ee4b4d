from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from academy.models import Assignment, Course, Enrollment, Lesson, Submission, User


def _latest() -> ColumnElement[bool]:
    """Only the newest attempt of its student at its assignment: older ones have been superseded."""
    newer = aliased(Submission)
    return ~exists().where(
        newer.assignment_id == Submission.assignment_id,
        newer.user_id == Submission.user_id,
        newer.attempt > Submission.attempt,
    )


def _in_courses(column: Any, course_ids: Collection[int] | None) -> ColumnElement[bool]:
    # None means every course (an admin); an empty scope matches nothing.
    if course_ids is None:
        return true()
    return column.in_(list(course_ids)) if course_ids else false()


class HomeworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    # --- assignments ---

    async def assignment(self, assignment_id: int) -> Assignment | None:
        return await self.session.get(Assignment, assignment_id)

    async def assignments(
        self,
        *,
        course_id: int | None = None,
        lesson_id: int | None = None,
        staff_course_ids: Collection[int] | None = None,
        all_courses: bool = False,
    ) -> list[Assignment]:
        """Published assignments in published lessons of published courses, plus every assignment of
        `staff_course_ids` (the viewer's own courses), or everything when `all_courses`."""
        stmt = select(Assignment).join(Lesson, Lesson.id == Assignment.lesson_id)
        stmt = stmt.join(Course, Course.id == Assignment.course_id)
        if not all_courses:
            visible = and_(Assignment.published, Lesson.published, Course.published)
            if staff_course_ids:
                visible = visible | Assignment.course_id.in_(list(staff_course_ids))
            stmt = stmt.where(visible)
        if course_id is not None:
            stmt = stmt.where(Assignment.course_id == course_id)
        if lesson_id is not None:
            stmt = stmt.where(Assignment.lesson_id == lesson_id)
        stmt = stmt.order_by(Assignment.course_id, Lesson.position, Assignment.id)
        return list(await self.session.scalars(stmt))

    async def open_text_assignments(self, user_id: int) -> list[tuple[Assignment, Lesson]]:
        """Published text homework in the user's courses that they have not passed yet."""
        passed = exists().where(
            Submission.assignment_id == Assignment.id,
            Submission.user_id == user_id,
            Submission.status == "final",
            Submission.passed.is_(True),
        )
        stmt = (
            select(Assignment, Lesson)
            .join(Lesson, Lesson.id == Assignment.lesson_id)
            .join(Course, Course.id == Assignment.course_id)
            .join(
                Enrollment, and_(Enrollment.course_id == Assignment.course_id, Enrollment.user_id == user_id)
            )
            .where(
                Assignment.kind == "text", Assignment.published, Lesson.published, Course.published, ~passed
            )
            .order_by(Assignment.id)
        )
        return [(a, lesson) for a, lesson in (await self.session.execute(stmt)).tuples()]

    # --- submissions ---

    async def submission(self, submission_id: int) -> Submission | None:
        return await self.session.get(Submission, submission_id)

    async def attempts(self, assignment_id: int, user_id: int) -> list[Submission]:
        stmt = (
            select(Submission)
            .where(Submission.assignment_id == assignment_id, Submission.user_id == user_id)
            .order_by(Submission.attempt)
        )
        return list(await self.session.scalars(stmt))

    async def is_superseded(self, submission: Submission) -> bool:
        stmt = select(
            exists().where(
                Submission.assignment_id == submission.assignment_id,
                Submission.user_id == submission.user_id,
                Submission.attempt > submission.attempt,
            )
        )
        return bool(await self.session.scalar(stmt))

    async def submissions(
        self, assignment_id: int, *, user_id: int | None, offset: int, limit: int
    ) -> tuple[list[Submission], int]:
        stmt = select(Submission).where(Submission.assignment_id == assignment_id)
        if user_id is not None:
            stmt = stmt.where(Submission.user_id == user_id)
        total = await self._count(stmt)
        rows = await self.session.scalars(
            stmt.order_by(Submission.submitted_at.desc(), Submission.id.desc()).offset(offset).limit(limit)
        )
        return list(rows), total

    def _queue(
        self, course_ids: Collection[int] | None, course_id: int | None, statuses: Sequence[str] | None
    ) -> Select[Submission, Assignment, User, str]:
        stmt = (
            select(Submission, Assignment, User, Course.title)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .join(User, User.id == Submission.user_id)
            .join(Course, Course.id == Submission.course_id)
            .where(_latest(), _in_courses(Submission.course_id, course_ids))
        )
        if course_id is not None:
            stmt = stmt.where(Submission.course_id == course_id)
        if statuses is not None:
            stmt = stmt.where(Submission.status.in_(list(statuses)))
        return stmt

    async def queue(
        self,
        course_ids: Collection[int] | None,
        *,
        course_id: int | None,
        statuses: Sequence[str] | None,
        offset: int,
        limit: int,
    ) -> tuple[list[tuple[Submission, Assignment, User, str]], int]:
        stmt = self._queue(course_ids, course_id, statuses)
        total = await self._count(stmt)
        rows = await self.session.execute(
            stmt.order_by(Submission.submitted_at, Submission.id).offset(offset).limit(limit)
        )
        return [(s, a, u, str(t)) for s, a, u, t in rows.tuples()], total

    async def pending_count(self, course_ids: Collection[int] | None) -> int:
        stmt = (
            select(func.count())
            .select_from(Submission)
            .where(
                _latest(),
                _in_courses(Submission.course_id, course_ids),
                Submission.status.in_(["submitted", "proposed"]),
            )
        )
        return int(await self.session.scalar(stmt) or 0)

    async def reviewed_with_proposal(
        self,
        course_ids: Collection[int] | None,
        *,
        course_id: int | None,
        start: datetime | None,
        end: datetime | None,
    ) -> list[tuple[Submission, Assignment]]:
        stmt = (
            select(Submission, Assignment)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .where(
                Submission.status == "final",
                Submission.review.in_(["confirmed", "overridden"]),
                Submission.ai_total.is_not(None),
                _in_courses(Submission.course_id, course_ids),
            )
        )
        if course_id is not None:
            stmt = stmt.where(Submission.course_id == course_id)
        if start is not None:
            stmt = stmt.where(Submission.reviewed_at >= start)
        if end is not None:
            stmt = stmt.where(Submission.reviewed_at < end)
        rows = await self.session.execute(stmt.order_by(Submission.id))
        return [(s, a) for s, a in rows.tuples()]

    async def _count(self, stmt: Select[*tuple[Any, ...]]) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
