"""School metrics: computed from the database on request, and stored nightly as snapshots.

Scope follows the shared definition (docs/curator-automation.md): admins see every course, curators
only the courses they curate (all of them when no course is named), students nothing at all.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.analytics.repository import AnalyticsRepository
from academy.analytics.schemas import (
    SUMMARY_FIGURES,
    Cohort,
    ComparisonRead,
    DayCount,
    MetricsQuery,
    RetentionRead,
    SnapshotRead,
    SummaryRead,
    WeekCount,
)
from academy.config import get_settings
from academy.enrollment.service import enrollment_service
from academy.kit import clock
from academy.kit.errors import Forbidden, NotFound, Unprocessable
from academy.models import Role, User

log = structlog.get_logger()

RETURN_DAYS = 7  # "returned within 7 days" (shared definitions)
DEFAULT_WEEKS = 8
MAX_WEEKS = 52
ALL = "all"


@dataclass(frozen=True)
class Scope:
    course_ids: tuple[int, ...]
    # Admin without a course: also what belongs to no course (a coach conversation started outside
    # one). Learning activity always belongs to a course, so it is counted by `course_ids` alone.
    everything: bool = False
    course_id: int | None = None  # the one course asked for, if any


def course_scope(course_id: int) -> str:
    return f"course:{course_id}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _days(start: date, end: date) -> Iterator[date]:
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The smallest observed value with at least q of the values at or below it (as coach stats)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * len(ordered) * 1000) // 1000))
    return float(ordered[min(rank, len(ordered)) - 1])


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _hours(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


class MetricsService:
    async def summary(self, session: AsyncSession, viewer: User, query: MetricsQuery) -> SummaryRead:
        scope = await self._scope(session, viewer, query.course_id)
        return await self._summary(session, scope, query)

    async def comparison(self, session: AsyncSession, viewer: User, query: MetricsQuery) -> ComparisonRead:
        """The range against the equally long period right before it."""
        scope = await self._scope(session, viewer, query.course_id)
        before = query.previous()
        # Both periods' per-day chart in one pass over the events (the costliest figure).
        by_day = await AnalyticsRepository(session).active_by_day(
            scope.course_ids, _midnight(before.start), _midnight(query.end + timedelta(days=1))
        )
        current = await self._summary(session, scope, query, by_day=by_day)
        previous = await self._summary(session, scope, before, by_day=by_day)
        changes: dict[str, float | None] = {}
        for name in SUMMARY_FIGURES:
            now, before = getattr(current, name), getattr(previous, name)
            changes[name] = round((now - before) / before, 4) if now is not None and before else None
        return ComparisonRead(current=current, previous=previous, changes=changes)

    async def retention(
        self, session: AsyncSession, viewer: User, query: MetricsQuery, *, weeks: int = DEFAULT_WEEKS
    ) -> RetentionRead:
        """Cohorts by the Monday-start week of enrolment (enrolments made in the range)."""
        if not 1 <= weeks <= MAX_WEEKS:
            raise Unprocessable(f"weeks must be between 1 and {MAX_WEEKS}")
        scope = await self._scope(session, viewer, query.course_id)
        repo = AnalyticsRepository(session)
        start, end = _midnight(query.start), _midnight(query.end + timedelta(days=1))
        # A week counts once it is over for every member: by the end of the range, or by now.
        until = min(end, clock.now())
        members = await repo.cohort_weeks(scope.course_ids, start, end, weeks=weeks, until=until)
        groups: dict[date, list[tuple[datetime, list[bool]]]] = defaultdict(list)
        for _, enrolled_at, active in members:
            groups[_monday(enrolled_at.date())].append((enrolled_at, active))
        cohorts = []
        for week in sorted(groups):
            group = groups[week]
            last = max(enrolled_at for enrolled_at, _ in group)
            retained: list[float | None] = []
            for k in range(weeks):
                if last + timedelta(days=7 * (k + 1)) > until:
                    retained.append(None)
                    continue
                kept = sum(1 for _, active in group if active[k])
                retained.append(round(kept / len(group), 4))
            cohorts.append(Cohort(week=week, size=len(group), retained=retained))
        return RetentionRead(
            start=query.start, end=query.end, course_id=query.course_id, weeks=weeks, cohorts=cohorts
        )

    async def snapshot(self, session: AsyncSession, day: date) -> int:
        """Store the day's figures for the whole school and for every course with enrolments.

        Idempotent: a re-run overwrites that day's rows. Returns how many rows were written."""
        query = MetricsQuery.build(day, day)
        repo = AnalyticsRepository(session)
        everything = Scope(tuple(await repo.course_ids()), everything=True)
        scopes = [(ALL, everything)]
        for course_id in await repo.courses_with_enrollments(_midnight(day + timedelta(days=1))):
            scopes.append((course_scope(course_id), Scope((course_id,), course_id=course_id)))
        for name, scope in scopes:
            figures = await self._summary(session, scope, query)
            await repo.save_snapshot(day, name, figures.model_dump(mode="json", include=set(SUMMARY_FIGURES)))
        log.info("analytics.snapshot_taken", day=day.isoformat(), scopes=len(scopes))
        return len(scopes)

    async def backfill(self, session: AsyncSession, days: int, *, until: date | None = None) -> int:
        """Snapshots of the `days` days ending on `until` (yesterday by default), oldest first."""
        if not 1 <= days <= 3660:
            raise Unprocessable("days must be between 1 and 3660")
        last = until or clock.now().date() - timedelta(days=1)
        written = 0
        for n in range(days - 1, -1, -1):
            written += await self.snapshot(session, last - timedelta(days=n))
        return written

    async def snapshots(self, session: AsyncSession, viewer: User, query: MetricsQuery) -> list[SnapshotRead]:
        """Stored snapshots in the range: of the course asked for; else of the whole school for an
        admin, or of each curated course for a curator."""
        scope = await self._scope(session, viewer, query.course_id)
        names = [ALL] if scope.everything else [course_scope(course_id) for course_id in scope.course_ids]
        rows = await AnalyticsRepository(session).snapshots(names, query.start, query.end)
        return [
            SnapshotRead(
                day=row.day,
                scope=row.scope,
                course_id=int(row.scope.split(":", 1)[1]) if row.scope != ALL else None,
                metrics=row.metrics,
            )
            for row in rows
        ]

    # --- internals ---

    async def _scope(self, session: AsyncSession, viewer: User, course_id: int | None) -> Scope:
        role = Role(viewer.role)
        if role == Role.admin:
            repo = AnalyticsRepository(session)
            if course_id is None:
                return Scope(tuple(await repo.course_ids()), everything=True)
            if not await repo.course_exists(course_id):
                raise NotFound("No such course")
            return Scope((course_id,), course_id=course_id)
        if role != Role.curator:
            raise Forbidden("Metrics are for curators and admins")
        curated = await enrollment_service.curated_course_ids(session, viewer)
        if course_id is None:
            return Scope(tuple(sorted(curated)))
        if course_id not in curated:
            raise Forbidden("You do not curate this course")
        return Scope((course_id,), course_id=course_id)

    async def _summary(
        self,
        session: AsyncSession,
        scope: Scope,
        query: MetricsQuery,
        *,
        by_day: Mapping[date, int] | None = None,
    ) -> SummaryRead:
        """The figures of one range; `by_day` is its active students per day when already counted."""
        repo = AnalyticsRepository(session)
        ids = scope.course_ids
        start, end = _midnight(query.start), _midnight(query.end + timedelta(days=1))

        if by_day is None:
            by_day = await repo.active_by_day(ids, start, end)
        monthly, weekly, daily = await repo.active_users(
            ids, end, [end - timedelta(days=30), end - timedelta(days=7), _midnight(query.end)]
        )

        made, completed = await repo.enrollment_counts(ids, start, end)
        completion_days = await repo.completion_days(ids, start, end)
        per_week: dict[date, int] = defaultdict(int)
        for day in completion_days:
            per_week[_monday(day)] += 1
        weeks = sorted({_monday(day) for day in _days(query.start, query.end)})

        submitted, graded, unedited = await repo.homework_counts(ids, start, end)
        turnaround = await repo.turnaround_hours(ids, start, end)
        # homework_service.agreement's rows and rule, counted in SQL (see the repository).
        compared, kept, off_by = await repo.agreement(ids, start, end)

        episodes = await repo.episodes(ids, start, end, return_days=RETURN_DAYS)
        nudged = [returned for grp, was_nudged, returned in episodes if grp == "treatment" and was_nudged]
        held_out = [returned for grp, _, returned in episodes if grp == "holdout"]
        nudge_rate = _ratio(sum(nudged), len(nudged))
        holdout_rate = _ratio(sum(held_out), len(held_out))

        questions, turns, resolved, latencies = await repo.coach_figures(
            None if scope.everything else ids, start, end
        )
        settings = get_settings()
        saved_minutes = resolved * settings.minutes_per_question + unedited * settings.minutes_per_grading

        return SummaryRead(
            start=query.start,
            end=query.end,
            course_id=scope.course_id,
            enrollments=made,
            active_daily=daily,
            active_weekly=weekly,
            active_monthly=monthly,
            stickiness=_ratio(daily, monthly),
            completions=len(completion_days),
            completion_rate=_ratio(completed, made),
            homework_submitted=submitted,
            homework_graded=graded,
            turnaround_median_hours=_hours(_median(turnaround)),
            turnaround_p90_hours=_hours(_nearest_rank(turnaround, 0.9)),
            ai_agreement_exact=_ratio(kept, compared),
            ai_agreement_mad=round(off_by / compared, 4) if compared else None,
            nudges_sent=await repo.nudges_sent(ids, start, end),
            nudge_return_rate=nudge_rate,
            holdout_return_rate=holdout_rate,
            nudge_lift=(
                round(nudge_rate - holdout_rate, 4)
                if nudge_rate is not None and holdout_rate is not None
                else None
            ),
            coach_questions=questions,
            coach_resolution_rate=_ratio(resolved, turns),
            coach_response_p50_ms=_median(latencies),
            coach_response_p95_ms=_nearest_rank(latencies, 0.95),
            curator_hours_saved=round(saved_minutes / 60, 2),
            active_by_day=[
                DayCount(day=day, users=by_day.get(day, 0)) for day in _days(query.start, query.end)
            ],
            completions_by_week=[WeekCount(week=week, count=per_week.get(week, 0)) for week in weeks],
        )


metrics_service = MetricsService()
