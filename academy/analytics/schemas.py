from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Self

from pydantic import BaseModel, Field, ValidationError, model_validator

from academy.kit import clock
from academy.kit.errors import Unprocessable
from academy.kit.schemas import Id

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
# Far enough for any real school, near enough that date arithmetic (a previous period, the weeks
# after a cohort) never leaves what Python and the databases can represent.
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


class MetricsQuery(BaseModel):
    """Inclusive UTC days, optionally one course."""

    start: date = Field(ge=EARLIEST, le=LATEST)
    end: date = Field(ge=EARLIEST, le=LATEST)
    course_id: Id | None = None

    @model_validator(mode="after")
    def _valid_range(self) -> Self:
        if self.start > self.end:
            raise ValueError("The start must not be after the end")
        if self.days > MAX_RANGE_DAYS:
            raise ValueError(f"The range may span at most {MAX_RANGE_DAYS} days")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> MetricsQuery:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        # Not validated: the previous period may start before EARLIEST, which only finds nothing.
        return MetricsQuery.model_construct(
            start=end - timedelta(days=self.days - 1), end=end, course_id=self.course_id
        )

    @classmethod
    def build(
        cls, start: date | None = None, end: date | None = None, course_id: int | None = None
    ) -> MetricsQuery:
        """Fill the defaults (the 30 days ending today, UTC) and turn a bad range into a 422."""
        for name, value in (("start", start), ("end", end)):
            if value is not None and not EARLIEST <= value <= LATEST:
                raise Unprocessable(f"{name}: must be between {EARLIEST} and {LATEST}")
        end = end or (start + timedelta(days=DEFAULT_RANGE_DAYS - 1) if start else clock.now().date())
        start = start or max(EARLIEST, end - timedelta(days=DEFAULT_RANGE_DAYS - 1))
        try:
            return cls(start=start, end=end, course_id=course_id)
        except ValidationError as exc:
            raise Unprocessable("; ".join(_message(e) for e in exc.errors())) from None


def _message(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    text = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {text}" if where else text


class DayCount(BaseModel):
    day: date
    users: int


class WeekCount(BaseModel):
    week: date  # the Monday
    count: int


class SummaryRead(BaseModel):
    """The school's numbers for [start, end]; a rate is None when there is nothing to divide by."""

    start: date
    end: date
    course_id: int | None
    enrollments: int
    active_daily: int  # distinct students with activity on `end`
    active_weekly: int  # … in the 7 days ending on `end`
    active_monthly: int  # … in the 30 days ending on `end`
    stickiness: float | None  # DAU / MAU
    completions: int  # enrolments completed during the range
    completion_rate: float | None  # of the enrolments made in the range, the share completed
    homework_submitted: int
    homework_graded: int
    turnaround_median_hours: float | None
    turnaround_p90_hours: float | None
    ai_agreement_exact: float | None
    ai_agreement_mad: float | None
    nudges_sent: int
    nudge_return_rate: float | None
    holdout_return_rate: float | None
    nudge_lift: float | None
    coach_questions: int
    coach_resolution_rate: float | None
    coach_response_p50_ms: float | None
    coach_response_p95_ms: float | None
    curator_hours_saved: float
    active_by_day: list[DayCount]
    completions_by_week: list[WeekCount]


# The numbers a comparison and a snapshot carry (the two lists are charts, not figures).
SUMMARY_FIGURES = tuple(
    name
    for name in SummaryRead.model_fields
    if name not in ("start", "end", "course_id", "active_by_day", "completions_by_week")
)


class Cohort(BaseModel):
    week: date  # the Monday of the week the cohort enrolled
    size: int
    # retained[k]: the share of the cohort active in the course in days [7k, 7k+7) after enrolling;
    # None until every member has lived through that week.
    retained: list[float | None]


class RetentionRead(BaseModel):
    start: date
    end: date
    course_id: int | None
    weeks: int
    cohorts: list[Cohort]


class ComparisonRead(BaseModel):
    current: SummaryRead
    previous: SummaryRead
    # (current - previous) / previous per figure; None when either is None or previous is 0.
    changes: dict[str, float | None]


class SnapshotRead(BaseModel):
    day: date
    scope: str  # "all" or "course:<id>"
    course_id: int | None
    metrics: dict[str, Any]
