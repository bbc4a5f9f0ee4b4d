"""Read-only aggregates over the school's tables, computed in SQL.

Metrics are a read model across domains (activity, enrolment, homework, retention, coach): counting
in the database is the only way they stay fast for a school of many thousand students, so this
repository reads those tables directly instead of loading rows through each domain's service.

`activity_events` is the big table. Questions about one enrolment ("its latest event in the window",
"any event in week k") seek the (user_id, at) index, once per enrolment (see `_same_course`); only
the per-day chart visits the window's events, and reads them from the covering
(course_id, at, user_id) index without touching the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    and_,
    case,
    cast,
    distinct,
    exists,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from academy.models import (
    ActivityEvent,
    CoachConversation,
    CoachMessage,
    Course,
    Enrollment,
    MetricSnapshot,
    Nudge,
    RiskEpisode,
    Submission,
)
from academy.models.base import UTCDateTime

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _dialect(self) -> str:
        return str((await self.session.connection()).dialect.name)

    async def _days_between(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        """`later - earlier` in (fractional) days; the databases spell date arithmetic differently."""
        if await self._dialect() == "postgresql":
            return cast(extract("epoch", later - earlier), Float) / 86400.0
        # SQLite keeps UTC date-times as ISO text, which julianday() reads.
        return func.julianday(later) - func.julianday(earlier)

    async def _plus_days(self, column: Any, days: int) -> ColumnElement[Any]:
        """`column + days`, comparable with the stored date-times of the same backend."""
        if await self._dialect() == "postgresql":
            return column + func.make_interval(0, 0, 0, days)
        # The stored text is "YYYY-MM-DD HH:MM:SS.ffffff": shift the whole seconds and keep the
        # fraction as it was, so the result compares exactly with other stored values.
        whole = func.strftime("%Y-%m-%d %H:%M:%S", func.substr(column, 1, 19), f"+{days} days")
        return whole.op("||")(func.substr(column, 20))

    async def _day(self, column: Any) -> ColumnElement[Any]:
        if await self._dialect() == "postgresql":
            # The UTC calendar day whatever the connection's time zone.
            return cast(func.timezone("UTC", column), Date)
        return func.date(column)

    # --- scope ---

    async def course_ids(self) -> list[int]:
        return list(await self.session.scalars(select(Course.id).order_by(Course.id)))

    async def course_exists(self, course_id: int) -> bool:
        return bool(await self.session.scalar(select(exists().where(Course.id == course_id))))

    async def courses_with_enrollments(self, before: datetime) -> list[int]:
        stmt = (
            select(Enrollment.course_id)
            .where(Enrollment.created_at < before)
            .group_by(Enrollment.course_id)
            .order_by(Enrollment.course_id)
        )
        return list(await self.session.scalars(stmt))

    # --- activity ---

    async def active_users(
        self, course_ids: Sequence[int], end: datetime, since: Sequence[datetime]
    ) -> list[int]:
        """For each moment in `since`: distinct students with activity in a course they are enrolled
        in (enrolled before `end`), in [moment, end). One query for all the windows.

        Per enrolment it reads only its latest event in the widest window: a seek on the
        (user_id, at) index, walking back from `end` to the first event of that course."""
        if not course_ids or not since:
            return [0 for _ in since]
        earliest = min(since)
        latest = (
            select(ActivityEvent.at)
            .where(
                ActivityEvent.user_id == Enrollment.user_id,
                _same_course(Enrollment.course_id),
                ActivityEvent.at >= earliest,
                ActivityEvent.at < end,
            )
            .order_by(ActivityEvent.at.desc())
            .limit(1)
            .correlate(Enrollment)
            .scalar_subquery()
        )
        # One row per student (the latest over their enrolments): the grouping keeps both databases
        # from inlining the subquery into every count below, which would run it once per window.
        per_student = (
            select(Enrollment.user_id.label("user_id"), func.max(latest).label("last_at"))
            .where(Enrollment.course_id.in_(course_ids), Enrollment.created_at < end)
            .group_by(Enrollment.user_id)
            .subquery()
        )
        counts = [func.count().filter(per_student.c.last_at >= moment) for moment in since]
        row = (await self.session.execute(select(*counts).select_from(per_student))).one()
        return [int(n or 0) for n in row]

    async def active_by_day(
        self, course_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[date, int]:
        """Distinct active students per UTC day in [start, end); days without activity are absent.

        One pass over the window's events read from the (course_id, at, user_id) index alone,
        reduced to distinct (day, student, course) before the enrolment check, so the check costs
        one seek per student and day, not per event."""
        if not course_ids:
            return {}
        day = await self._day(ActivityEvent.at)
        pairs = (
            select(
                day.label("day"),
                ActivityEvent.user_id.label("user_id"),
                ActivityEvent.course_id.label("course_id"),
            )
            .where(ActivityEvent.course_id.in_(course_ids), ActivityEvent.at >= start, ActivityEvent.at < end)
            .distinct()
            .subquery()
        )
        stmt = (
            select(pairs.c.day, func.count(distinct(pairs.c.user_id)))
            .join(
                Enrollment,
                and_(Enrollment.user_id == pairs.c.user_id, Enrollment.course_id == pairs.c.course_id),
            )
            .where(Enrollment.created_at < end)
            .group_by(pairs.c.day)
        )
        rows = (await self.session.execute(stmt)).tuples()
        return {_as_date(d): int(n) for d, n in rows}

    # --- enrolments ---

    async def enrollment_counts(
        self, course_ids: Sequence[int], start: datetime, end: datetime
    ) -> tuple[int, int]:
        """Enrolments made in [start, end), and how many of them are completed (by now)."""
        if not course_ids:
            return 0, 0
        stmt = select(func.count(), func.count(Enrollment.completed_at)).where(
            Enrollment.course_id.in_(course_ids), Enrollment.created_at >= start, Enrollment.created_at < end
        )
        made, completed = (await self.session.execute(stmt)).tuples().one()
        return int(made), int(completed)

    async def completion_days(self, course_ids: Sequence[int], start: datetime, end: datetime) -> list[date]:
        """The UTC day of every course completion in [start, end)."""
        if not course_ids:
            return []
        day = await self._day(Enrollment.completed_at)
        stmt = select(day, func.count()).where(
            Enrollment.course_id.in_(course_ids),
            Enrollment.completed_at >= start,
            Enrollment.completed_at < end,
        )
        rows = (await self.session.execute(stmt.group_by(day))).tuples()
        return [_as_date(d) for d, n in rows for _ in range(int(n))]

    # --- homework ---

    async def homework_counts(
        self, course_ids: Sequence[int], start: datetime, end: datetime
    ) -> tuple[int, int, int]:
        """Submissions made, final grades given, and AI proposals confirmed unedited, in [start, end)."""
        if not course_ids:
            return 0, 0, 0
        in_courses = Submission.course_id.in_(course_ids)
        submitted = await self.session.scalar(
            select(func.count()).where(
                in_courses, Submission.submitted_at >= start, Submission.submitted_at < end
            )
        )
        graded_now = and_(
            in_courses,
            Submission.status == "final",
            Submission.reviewed_at >= start,
            Submission.reviewed_at < end,
        )
        confirmed = func.count().filter(Submission.review == "confirmed")
        graded, unedited = (
            (await self.session.execute(select(func.count(), confirmed).where(graded_now))).tuples().one()
        )
        return int(submitted or 0), int(graded), int(unedited)

    async def turnaround_hours(
        self, course_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[float]:
        """Hours from submission to final grade for grades given in [start, end) by a person.

        A quiz scores itself the moment it is taken ("auto"): counting those would only flatter the
        curators' turnaround."""
        if not course_ids:
            return []
        hours = (await self._days_between(Submission.reviewed_at, Submission.submitted_at)) * 24.0
        stmt = select(cast(hours, Float)).where(
            Submission.course_id.in_(course_ids),
            Submission.status == "final",
            Submission.reviewed_at >= start,
            Submission.reviewed_at < end,
            or_(Submission.review.is_(None), Submission.review != "auto"),
        )
        return [float(h) for h in await self.session.scalars(stmt)]

    async def agreement(
        self, course_ids: Sequence[int], start: datetime, end: datetime
    ) -> tuple[int, int, float]:
        """Over the grades given in [start, end) to submissions the AI had proposed scores for (the
        rows of `homework_service.agreement`): how many criteria were scored by both, how many of
        those the curator left at the AI's points, and the sum of |final - AI| points.

        Counted inside the database from the two JSON columns: loading the submissions as objects
        with their assignments (what the homework service does for its own page) takes seconds for
        a year of a large school."""
        if not course_ids:
            return 0, 0, 0.0
        if await self._dialect() == "postgresql":
            final = func.json_array_elements(Submission.final_scores).table_valued("value").alias("f")
            proposal = func.json_array_elements(Submission.ai_scores).table_valued("value").alias("a")

            def field(item: Any, name: str) -> Any:
                return item.c.value.op("->>")(literal_column(f"'{name}'"))

            points = [cast(field(final, "points"), Float), cast(field(proposal, "points"), Float)]
        else:
            final = func.json_each(Submission.final_scores).table_valued("value").alias("f")
            proposal = func.json_each(Submission.ai_scores).table_valued("value").alias("a")

            def field(item: Any, name: str) -> Any:
                return func.json_extract(item.c.value, f"$.{name}")

            points = [field(final, "points"), field(proposal, "points")]
        diff = func.abs(points[0] - points[1])
        stmt = (
            select(func.count(), func.sum(case((diff < 1e-9, 1), else_=0)), func.sum(diff))
            # Each submission's final scores unnested (a function in FROM may read the row before it
            # on both databases, so the join needs no condition of its own), then paired with the
            # AI's score for the same criterion.
            .select_from(Submission)
            .join(final, true())
            .join(proposal, field(final, "key") == field(proposal, "key"))
            .where(
                Submission.course_id.in_(course_ids),
                Submission.status == "final",
                Submission.review.in_(("confirmed", "overridden")),
                Submission.ai_total.is_not(None),
                Submission.reviewed_at >= start,
                Submission.reviewed_at < end,
            )
        )
        n, exact, total = (await self.session.execute(stmt)).tuples().one()
        return int(n or 0), int(exact or 0), float(total or 0.0)

    # --- nudges and risk episodes ---

    async def nudges_sent(self, course_ids: Sequence[int], start: datetime, end: datetime) -> int:
        if not course_ids:
            return 0
        stmt = select(func.count()).where(
            Nudge.course_id.in_(course_ids), Nudge.sent_at >= start, Nudge.sent_at < end
        )
        return int(await self.session.scalar(stmt) or 0)

    async def episodes(
        self, course_ids: Sequence[int], start: datetime, end: datetime, *, return_days: int
    ) -> list[tuple[str, bool, bool]]:
        """(group, nudged, returned within `return_days`) of every risk episode started in [start, end).

        "Returned" is read from the activity stream itself (the shared definition), not from the
        `returned_at` mark, so the figure does not wait for the next `track_returns` run."""
        if not course_ids:
            return []
        nudged = exists().where(Nudge.episode_id == RiskEpisode.id)
        returned = exists().where(
            ActivityEvent.user_id == RiskEpisode.user_id,
            _same_course(RiskEpisode.course_id),
            ActivityEvent.at > RiskEpisode.started_at,
            ActivityEvent.at <= await self._plus_days(RiskEpisode.started_at, return_days),
        )
        stmt = select(RiskEpisode.grp, nudged, returned).where(
            RiskEpisode.course_id.in_(course_ids),
            RiskEpisode.started_at >= start,
            RiskEpisode.started_at < end,
        )
        rows = (await self.session.execute(stmt)).tuples()
        return [(str(grp), bool(n), bool(r)) for grp, n, r in rows]

    # --- coach ---

    async def coach_figures(
        self, course_ids: Sequence[int] | None, start: datetime, end: datetime
    ) -> tuple[int, int, int, list[int]]:
        """Questions asked, coach answers, answers that resolved the question (neither escalated nor
        a refusal), and the answers' response times in ms, in [start, end).

        `course_ids=None` counts every conversation, including those started outside a course."""
        if course_ids is not None and not course_ids:
            return 0, 0, 0, []

        def scoped(stmt: Any) -> Any:
            if course_ids is None:
                return stmt
            return stmt.join(CoachConversation, CoachConversation.id == CoachMessage.conversation_id).where(
                CoachConversation.course_id.in_(course_ids)
            )

        in_range = and_(CoachMessage.created_at >= start, CoachMessage.created_at < end)
        questions = await self.session.scalar(
            scoped(
                select(func.count()).select_from(CoachMessage).where(CoachMessage.role == "user", in_range)
            )
        )
        # The same rule as coach_service.stats: an answer or a hint that went to nobody else.
        resolved = func.count().filter(
            CoachMessage.escalated.is_(False), CoachMessage.mode.in_(("answer", "hint"))
        )
        assistant = and_(CoachMessage.role == "assistant", in_range)
        turns, answered = (
            (
                await self.session.execute(
                    scoped(select(func.count(), resolved).select_from(CoachMessage).where(assistant))
                )
            )
            .tuples()
            .one()
        )
        latencies = await self.session.scalars(
            scoped(
                select(CoachMessage.latency_ms)
                .select_from(CoachMessage)
                .where(assistant, CoachMessage.latency_ms.is_not(None))
            )
        )
        return int(questions or 0), int(turns), int(answered), [int(ms) for ms in latencies]

    # --- retention cohorts ---

    async def cohort_weeks(
        self, course_ids: Sequence[int], start: datetime, end: datetime, *, weeks: int, until: datetime
    ) -> list[tuple[int, datetime, list[bool]]]:
        """For each enrolment made in [start, end): its id, when it was made, and for k < `weeks`
        whether it had activity in its course during days [7k, 7k+7) after enrolling (False for a
        week not over before `until`).

        One index seek per enrolment and week (an EXISTS each), never a pass over every event."""
        if not course_ids:
            return []
        columns = []
        for k in range(weeks):
            opens = await self._plus_days(Enrollment.created_at, 7 * k)
            closes = await self._plus_days(Enrollment.created_at, 7 * (k + 1))
            active = exists().where(
                ActivityEvent.user_id == Enrollment.user_id,
                _same_course(Enrollment.course_id),
                ActivityEvent.at >= opens,
                ActivityEvent.at < closes,
            )
            # A week that is not over yet is not looked at (CASE evaluates lazily on both databases).
            columns.append(case((closes <= literal(until, UTCDateTime()), active), else_=False))
        stmt = select(Enrollment.id, Enrollment.created_at, *columns).where(
            Enrollment.course_id.in_(course_ids), Enrollment.created_at >= start, Enrollment.created_at < end
        )
        rows = (await self.session.execute(stmt)).tuples()
        return [(int(row[0]), row[1], [bool(flag) for flag in row[2:]]) for row in rows]

    # --- snapshots ---

    async def save_snapshot(self, day: date, scope: str, metrics: Mapping[str, Any]) -> None:
        """Insert or overwrite the row of (day, scope): a re-run replaces, never duplicates."""
        insert = _INSERTS[await self._dialect()]
        stmt = insert(MetricSnapshot).values(day=day, scope=scope, metrics=dict(metrics))
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", "scope"], set_={"metrics": stmt.excluded.metrics}
        )
        await self.session.execute(stmt)

    async def snapshots(self, scopes: Sequence[str], start: date, end: date) -> list[MetricSnapshot]:
        if not scopes:
            return []
        stmt = (
            select(MetricSnapshot)
            .where(MetricSnapshot.scope.in_(scopes), MetricSnapshot.day >= start, MetricSnapshot.day <= end)
            .order_by(MetricSnapshot.day, MetricSnapshot.scope)
        )
        return list(await self.session.scalars(stmt))


def _same_course(course_id: Any) -> ColumnElement[bool]:
    """`activity_events.course_id = course_id` for "this student's events in this course in a window".

    Written as `course_id + 0` so that SQLite, which has no statistics to go by, seeks the
    (user_id, at) index: given a plain equality it prefers the covering (course_id, at, user_id)
    index and reads every student's events of the window for each enrolment (minutes, not
    milliseconds, for a large school). PostgreSQL plans from its statistics either way."""
    return ActivityEvent.course_id + literal_column("0") == course_id


def _as_date(value: Any) -> date:
    # SQLite's date() answers text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))
