"""SQL for dropout risk: bulk reads of learning history (activity, progress, quizzes, homework, coach
questions) for many enrolments at once, the roster query, and the retention tables.

Bulk readers take user ids and course ids and return rows keyed by (user_id, course_id); callers
keep the pairs they asked for. Every reader is one query, so scoring N enrolments costs a handful
of queries per batch, never one per student.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from academy.models import (
    ActivityEvent,
    Assignment,
    CoachConversation,
    CoachMessage,
    Course,
    CourseCurator,
    Enrollment,
    Lesson,
    LessonProgress,
    Nudge,
    Quiz,
    QuizAttempt,
    RiskEpisode,
    RiskModel,
    RiskScore,
    Submission,
    User,
)

Pair = tuple[int, int]
# (enrolment, student, course title, current score, roster status)
RosterRow = tuple[Enrollment, User, str, RiskScore | None, str]


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    # --- enrolments in scope ---

    async def enrollment_ids(
        self, *, course_id: int | None = None, enrollment_ids: Sequence[int] | None = None
    ) -> list[int]:
        stmt = select(Enrollment.id).order_by(Enrollment.id)
        if course_id is not None:
            stmt = stmt.where(Enrollment.course_id == course_id)
        if enrollment_ids is not None:
            stmt = stmt.where(Enrollment.id.in_(list(enrollment_ids)))
        return list(await self.session.scalars(stmt))

    async def enrollments_with_users(self, ids: Sequence[int]) -> list[tuple[Enrollment, User]]:
        if not ids:
            return []
        rows = await self.session.execute(
            select(Enrollment, User)
            .join(User, User.id == Enrollment.user_id)
            .where(Enrollment.id.in_(list(ids)))
            .order_by(Enrollment.id)
        )
        return [(e, u) for e, u in rows.tuples()]

    async def enrollment(self, enrollment_id: int) -> tuple[Enrollment, User, Course] | None:
        row = (
            await self.session.execute(
                select(Enrollment, User, Course)
                .join(User, User.id == Enrollment.user_id)
                .join(Course, Course.id == Enrollment.course_id)
                .where(Enrollment.id == enrollment_id)
            )
        ).first()
        return (row[0], row[1], row[2]) if row else None

    async def finished_candidates(self, quiet_before: datetime) -> list[tuple[Enrollment, User]]:
        """Enrolments that completed, or whose last activity is before `quiet_before` (dropped)."""
        rows = await self.session.execute(
            select(Enrollment, User)
            .join(User, User.id == Enrollment.user_id)
            .where(
                or_(
                    Enrollment.completed_at.is_not(None),
                    func.coalesce(Enrollment.last_activity_at, Enrollment.created_at) < quiet_before,
                )
            )
            .order_by(Enrollment.id)
        )
        return [(e, u) for e, u in rows.tuples()]

    # --- learning history, in bulk ---

    async def course_lessons(self, course_ids: Sequence[int]) -> dict[int, list[Lesson]]:
        """Published lessons per course, in course order."""
        out: dict[int, list[Lesson]] = {cid: [] for cid in course_ids}
        if not course_ids:
            return out
        rows = await self.session.scalars(
            select(Lesson)
            .where(Lesson.course_id.in_(list(course_ids)), Lesson.published.is_(True))
            .order_by(Lesson.course_id, Lesson.position, Lesson.id)
        )
        for lesson in rows:
            out[lesson.course_id].append(lesson)
        return out

    async def completions(
        self, user_ids: Sequence[int], course_ids: Sequence[int]
    ) -> list[tuple[int, int, datetime]]:
        """(user_id, course_id, completed_at) of published lessons."""
        if not user_ids or not course_ids:
            return []
        rows = await self.session.execute(
            select(LessonProgress.user_id, Lesson.course_id, LessonProgress.completed_at)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(
                LessonProgress.user_id.in_(list(user_ids)),
                Lesson.course_id.in_(list(course_ids)),
                Lesson.published.is_(True),
                LessonProgress.completed_at.is_not(None),
            )
        )
        return [(u, c, at) for u, c, at in rows.tuples() if at is not None]

    async def last_activity(
        self, user_ids: Sequence[int], course_ids: Sequence[int], *, until: datetime | None = None
    ) -> dict[Pair, datetime]:
        if not user_ids or not course_ids:
            return {}
        # Filtered by user only, so the (user_id, at) index drives it: with the course too, SQLite
        # picks the (course_id, at) index and reads the whole course's history.
        stmt = (
            select(ActivityEvent.user_id, ActivityEvent.course_id, func.max(ActivityEvent.at))
            .where(ActivityEvent.user_id.in_(list(user_ids)))
            .group_by(ActivityEvent.user_id, ActivityEvent.course_id)
        )
        if until is not None:
            stmt = stmt.where(ActivityEvent.at <= until)
        rows = await self.session.execute(stmt)
        wanted = set(course_ids)
        return {(u, c): at for u, c, at in rows.tuples() if c in wanted and at is not None}

    async def activity(
        self,
        user_ids: Sequence[int],
        course_ids: Sequence[int],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple[int, int, datetime]]:
        if not user_ids or not course_ids:
            return []
        # By user only, for the (user_id, at) index (see last_activity).
        stmt = select(ActivityEvent.user_id, ActivityEvent.course_id, ActivityEvent.at).where(
            ActivityEvent.user_id.in_(list(user_ids))
        )
        if since is not None:
            stmt = stmt.where(ActivityEvent.at >= since)
        if until is not None:
            stmt = stmt.where(ActivityEvent.at <= until)
        rows = await self.session.execute(stmt)
        wanted = set(course_ids)
        return [(u, c, at) for u, c, at in rows.tuples() if c in wanted]

    async def first_activity_after(
        self, items: Sequence[tuple[int, int, int, datetime]], *, window_end: datetime | None = None
    ) -> dict[int, datetime]:
        """For (key, user_id, course_id, after) items: the first activity in the course after `after`
        and within 7 days of it, by key. One query: the events of all the users in the span."""
        if not items:
            return {}
        from datetime import timedelta

        start = min(after for _k, _u, _c, after in items)
        end = max(after for _k, _u, _c, after in items) + timedelta(days=7)
        events = await self.activity(
            sorted({u for _k, u, _c, _a in items}),
            sorted({c for _k, _u, c, _a in items}),
            since=start,
            until=end,
        )
        by_pair: dict[Pair, list[datetime]] = {}
        for u, c, at in events:
            by_pair.setdefault((u, c), []).append(at)
        out: dict[int, datetime] = {}
        for key, u, c, after in items:
            hits = [at for at in by_pair.get((u, c), []) if after < at <= after + timedelta(days=7)]
            if hits:
                out[key] = min(hits)
        return out

    async def quiz_scores(
        self, user_ids: Sequence[int], course_ids: Sequence[int]
    ) -> list[tuple[int, int, datetime, int]]:
        if not user_ids or not course_ids:
            return []
        rows = await self.session.execute(
            select(QuizAttempt.user_id, Lesson.course_id, QuizAttempt.created_at, QuizAttempt.score)
            .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
            .join(Lesson, Lesson.id == Quiz.lesson_id)
            .where(QuizAttempt.user_id.in_(list(user_ids)), Lesson.course_id.in_(list(course_ids)))
        )
        return [(u, c, at, s) for u, c, at, s in rows.tuples()]

    async def assignments(self, course_ids: Sequence[int]) -> list[Assignment]:
        if not course_ids:
            return []
        return list(
            await self.session.scalars(
                select(Assignment)
                .where(Assignment.course_id.in_(list(course_ids)), Assignment.published.is_(True))
                .order_by(Assignment.id)
            )
        )

    async def submissions(
        self, user_ids: Sequence[int], assignment_ids: Sequence[int]
    ) -> list[tuple[int, int, datetime, str, datetime | None, bool | None]]:
        """(assignment_id, user_id, submitted_at, status, reviewed_at, passed)."""
        if not user_ids or not assignment_ids:
            return []
        rows = await self.session.execute(
            select(
                Submission.assignment_id,
                Submission.user_id,
                Submission.submitted_at,
                Submission.status,
                Submission.reviewed_at,
                Submission.passed,
            ).where(
                Submission.user_id.in_(list(user_ids)), Submission.assignment_id.in_(list(assignment_ids))
            )
        )
        return [tuple(r) for r in rows.tuples()]  # type: ignore[misc]

    async def coach_questions(
        self, user_ids: Sequence[int], *, since: datetime | None = None
    ) -> list[tuple[int, int | None, datetime]]:
        """(user_id, conversation course_id, asked_at) of the students' questions to the coach."""
        if not user_ids:
            return []
        stmt = (
            select(CoachConversation.user_id, CoachConversation.course_id, CoachMessage.created_at)
            .join(CoachConversation, CoachConversation.id == CoachMessage.conversation_id)
            .where(CoachConversation.user_id.in_(list(user_ids)), CoachMessage.role == "user")
        )
        if since is not None:
            stmt = stmt.where(CoachMessage.created_at >= since)
        rows = await self.session.execute(stmt)
        return [(u, c, at) for u, c, at in rows.tuples()]

    async def curators(self, course_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {cid: [] for cid in course_ids}
        if not course_ids:
            return out
        rows = await self.session.execute(
            select(CourseCurator.course_id, CourseCurator.user_id)
            .where(CourseCurator.course_id.in_(list(course_ids)))
            .order_by(CourseCurator.course_id, CourseCurator.user_id)
        )
        for cid, uid in rows.tuples():
            out[cid].append(uid)
        return out

    async def all_course_ids(self) -> list[int]:
        return list(await self.session.scalars(select(Course.id).order_by(Course.id)))

    async def course_titles(self, course_ids: Sequence[int]) -> dict[int, str]:
        if not course_ids:
            return {}
        rows = await self.session.execute(
            select(Course.id, Course.title).where(Course.id.in_(list(course_ids)))
        )
        return dict(rows.tuples().all())

    # --- scores, episodes, nudges ---

    async def scores(self, enrollment_ids: Sequence[int]) -> dict[int, RiskScore]:
        if not enrollment_ids:
            return {}
        rows = await self.session.scalars(
            select(RiskScore).where(RiskScore.enrollment_id.in_(list(enrollment_ids)))
        )
        return {r.enrollment_id: r for r in rows}

    async def score(self, enrollment_id: int) -> RiskScore | None:
        return await self.session.get(RiskScore, enrollment_id)

    async def insert_scores(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(RiskScore), list(rows))

    async def update_scores(self, rows: Sequence[dict[str, Any]], loaded: Sequence[RiskScore] = ()) -> None:
        """Bulk UPDATE by primary key (each dict carries `enrollment_id`). A bulk UPDATE bypasses the
        identity map, so the `loaded` objects are expired: a later query in this session reloads them."""
        if rows:
            await self.session.execute(update(RiskScore), list(rows))
        for row in loaded:
            self.session.expire(row)

    async def add_all(self, rows: Sequence[object]) -> None:
        if rows:
            self.session.add_all(list(rows))
            await self.session.flush()

    async def open_episodes(self, enrollment_ids: Sequence[int]) -> dict[int, RiskEpisode]:
        if not enrollment_ids:
            return {}
        rows = await self.session.scalars(
            select(RiskEpisode)
            .where(RiskEpisode.enrollment_id.in_(list(enrollment_ids)), RiskEpisode.ended_at.is_(None))
            .order_by(RiskEpisode.started_at)
        )
        return {e.enrollment_id: e for e in rows}

    async def episodes_of(self, enrollment_id: int, limit: int = 20) -> list[RiskEpisode]:
        return list(
            await self.session.scalars(
                select(RiskEpisode)
                .where(RiskEpisode.enrollment_id == enrollment_id)
                .order_by(RiskEpisode.started_at.desc(), RiskEpisode.id.desc())
                .limit(limit)
            )
        )

    async def nudged_episode_ids(self, episode_ids: Sequence[int]) -> set[int]:
        if not episode_ids:
            return set()
        rows = await self.session.scalars(
            select(Nudge.episode_id).where(Nudge.episode_id.in_(list(episode_ids))).distinct()
        )
        return {i for i in rows if i is not None}

    async def nudge_times(self, user_ids: Sequence[int], since: datetime) -> dict[int, list[datetime]]:
        """Nudges sent to these students after `since` (manual and automatic), oldest first: a nudge
        leaves the cap's window exactly when the window has passed."""
        out: dict[int, list[datetime]] = {}
        if not user_ids:
            return out
        rows = await self.session.execute(
            select(Nudge.user_id, Nudge.sent_at)
            .where(Nudge.user_id.in_(list(user_ids)), Nudge.sent_at > since)
            .order_by(Nudge.sent_at)
        )
        for uid, at in rows.tuples():
            out.setdefault(uid, []).append(at)
        return out

    async def nudges_of(self, enrollment_id: int, limit: int = 50) -> list[tuple[Nudge, str | None]]:
        sender = User.__table__.alias("sender")
        rows = await self.session.execute(
            select(Nudge, func.coalesce(sender.c.name, sender.c.email))
            .outerjoin(sender, sender.c.id == Nudge.sent_by_id)
            .where(Nudge.enrollment_id == enrollment_id)
            .order_by(Nudge.sent_at.desc(), Nudge.id.desc())
            .limit(limit)
        )
        return [(n, name) for n, name in rows.tuples()]

    async def last_nudges(self, enrollment_ids: Sequence[int]) -> dict[int, datetime]:
        if not enrollment_ids:
            return {}
        rows = await self.session.execute(
            select(Nudge.enrollment_id, func.max(Nudge.sent_at))
            .where(Nudge.enrollment_id.in_(list(enrollment_ids)))
            .group_by(Nudge.enrollment_id)
        )
        return {e: at for e, at in rows.tuples() if at is not None}

    async def unreturned_nudges(self, since: datetime) -> list[Nudge]:
        return list(
            await self.session.scalars(
                select(Nudge).where(Nudge.returned_at.is_(None), Nudge.sent_at >= since).order_by(Nudge.id)
            )
        )

    async def unreturned_episodes(self, since: datetime) -> list[RiskEpisode]:
        return list(
            await self.session.scalars(
                select(RiskEpisode)
                .where(RiskEpisode.returned_at.is_(None), RiskEpisode.started_at >= since)
                .order_by(RiskEpisode.id)
            )
        )

    # --- models ---

    async def models(self, limit: int = 20) -> list[RiskModel]:
        return list(
            await self.session.scalars(
                select(RiskModel).order_by(RiskModel.created_at.desc(), RiskModel.id.desc()).limit(limit)
            )
        )

    async def active_model(self) -> RiskModel | None:
        return await self.session.scalar(
            select(RiskModel).where(RiskModel.active.is_(True)).order_by(RiskModel.id.desc()).limit(1)
        )

    async def deactivate_models(self) -> None:
        await self.session.execute(update(RiskModel).where(RiskModel.active.is_(True)).values(active=False))

    async def score_summary(self, threshold: int) -> tuple[int, int, datetime | None]:
        row = (
            await self.session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((RiskScore.at_risk.is_(True), 1), else_=0)), 0),
                    func.max(RiskScore.computed_at),
                ).select_from(RiskScore)
            )
        ).one()
        return int(row[0]), int(row[1]), row[2]

    async def delete_scores(self, enrollment_ids: Sequence[int]) -> None:
        if enrollment_ids:
            await self.session.execute(
                delete(RiskScore).where(RiskScore.enrollment_id.in_(list(enrollment_ids)))
            )

    # --- the roster ---

    def _status(
        self, *, active_since: datetime, dropped_before: datetime, threshold: int
    ) -> ColumnElement[str]:
        """The roster status of an enrolment, from its own row (`last_activity_at`, kept by the
        activity service) and its score: no pass over the activity stream.

        An enrolment that never had activity counts from when it was made, so a student who enrolled
        yesterday and has not begun yet is idle, not dropped."""
        last = Enrollment.last_activity_at
        return case(
            (Enrollment.completed_at.is_not(None), literal("completed")),
            (func.coalesce(last, Enrollment.created_at) <= dropped_before, literal("dropped")),
            (func.coalesce(RiskScore.score, -1) >= threshold, literal("at_risk")),
            (last >= active_since, literal("active")),
            else_=literal("idle"),
        )

    def _roster_base(
        self,
        *,
        course_ids: Sequence[int] | None,
        active_since: datetime,
        dropped_before: datetime,
        threshold: int,
        q: str,
    ) -> tuple[Select[Enrollment, User, str, RiskScore, str], ColumnElement[str]]:
        """Enrolments in scope with their user, course title, score and status (one row each)."""
        status = self._status(active_since=active_since, dropped_before=dropped_before, threshold=threshold)
        stmt = (
            select(Enrollment, User, Course.title, RiskScore, status.label("status"))
            .join(User, User.id == Enrollment.user_id)
            .join(Course, Course.id == Enrollment.course_id)
            .outerjoin(RiskScore, RiskScore.enrollment_id == Enrollment.id)
        )
        if course_ids is not None:
            stmt = stmt.where(Enrollment.course_id.in_(list(course_ids)))
        term = q.strip()
        if term:
            # SQLite's lower() folds ASCII only, so Cyrillic needs the written-case variants too.
            variants = {term.lower(), term.capitalize(), term.title(), term.upper(), term}
            conditions = []
            for v in variants:
                pattern = "%" + v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                conditions += [User.name.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\")]
            stmt = stmt.where(or_(*conditions))
        return stmt, status

    async def roster(
        self,
        *,
        course_ids: Sequence[int] | None,
        active_since: datetime,
        dropped_before: datetime,
        threshold: int,
        q: str,
        status: str,
        sort: str,
        order: Literal["asc", "desc"],
        offset: int,
        limit: int,
    ) -> tuple[list[RosterRow], int]:
        stmt, status_col = self._roster_base(
            course_ids=course_ids,
            active_since=active_since,
            dropped_before=dropped_before,
            threshold=threshold,
            q=q,
        )
        if status != "all":
            stmt = stmt.where(status_col == status)
        total = int(await self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        desc = order == "desc"
        keys: list[Any]
        if sort == "name":
            name = func.lower(func.coalesce(func.nullif(User.name, ""), User.email))
            keys = [name.desc() if desc else name.asc()]
        elif sort == "progress":
            done = (
                select(func.count())
                .select_from(LessonProgress)
                .join(Lesson, Lesson.id == LessonProgress.lesson_id)
                .where(
                    LessonProgress.user_id == Enrollment.user_id,
                    Lesson.course_id == Enrollment.course_id,
                    Lesson.published.is_(True),
                    LessonProgress.completed_at.is_not(None),
                )
                .correlate(Enrollment)
                .scalar_subquery()
            )
            total_lessons = (
                select(func.count())
                .select_from(Lesson)
                .where(Lesson.course_id == Enrollment.course_id, Lesson.published.is_(True))
                .correlate(Enrollment)
                .scalar_subquery()
            )
            pct = done * 1.0 / func.nullif(total_lessons, 0)
            keys = [func.coalesce(pct, 0).desc() if desc else func.coalesce(pct, 0).asc()]
        elif sort == "last_activity":
            # Students who never began sort by when they enrolled (their status counts from then too).
            last = func.coalesce(Enrollment.last_activity_at, Enrollment.created_at)
            keys = [last.desc() if desc else last.asc()]
        elif sort == "enrolled":
            keys = [Enrollment.created_at.desc() if desc else Enrollment.created_at.asc()]
        else:
            risk = func.coalesce(RiskScore.score, -1)
            keys = [risk.desc() if desc else risk.asc()]
        keys.append(Enrollment.id.desc() if desc else Enrollment.id.asc())
        rows = await self.session.execute(stmt.order_by(*keys).offset(offset).limit(limit))
        return [(e, u, title, risk_row, st) for e, u, title, risk_row, st in rows.tuples()], total

    async def roster_row(
        self, enrollment_id: int, *, active_since: datetime, dropped_before: datetime, threshold: int
    ) -> RosterRow | None:
        """One enrolment's roster row (the student page): a lookup by primary key, no count."""
        stmt, _status = self._roster_base(
            course_ids=None,
            active_since=active_since,
            dropped_before=dropped_before,
            threshold=threshold,
            q="",
        )
        row = (await self.session.execute(stmt.where(Enrollment.id == enrollment_id))).tuples().first()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None

    async def roster_counts(
        self,
        *,
        course_ids: Sequence[int] | None,
        active_since: datetime,
        dropped_before: datetime,
        threshold: int,
    ) -> dict[str, int]:
        """Enrolments per status in one grouped query (no users, courses or search needed)."""
        status = self._status(active_since=active_since, dropped_before=dropped_before, threshold=threshold)
        stmt = (
            select(status, func.count())
            .select_from(Enrollment)
            .outerjoin(RiskScore, RiskScore.enrollment_id == Enrollment.id)
            .group_by(status)
        )
        if course_ids is not None:
            stmt = stmt.where(Enrollment.course_id.in_(list(course_ids)))
        rows = await self.session.execute(stmt)
        return {str(s): int(n) for s, n in rows.tuples()}
