"""The curator's pages: the dashboard (metric cards, the students roster with one-click nudges, the
live notification panel, charts), one student's detail with the nudge form, and the metrics page.

Every row and number comes from the retention, analytics and homework services, which also keep a
curator inside their own courses; these handlers parse the request, call them and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from academy.analytics.schemas import ComparisonRead, MetricsQuery, RetentionRead, SummaryRead
from academy.analytics.service import metrics_service
from academy.auth.access import require
from academy.course.service import course_service
from academy.enrollment.service import enrollment_service
from academy.homework.schemas import AssignmentStatus
from academy.homework.service import homework_service
from academy.kit import clock, htmx, i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError, Conflict, Unprocessable
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.notification.schemas import NotificationRead
from academy.notification.service import notification_service
from academy.retention.errors import NudgeCapReached
from academy.retention.schemas import (
    RETURN_WINDOW_DAYS,
    NudgeCreate,
    NudgeRead,
    Reason,
    RosterQuery,
    StudentDetail,
)
from academy.retention.scoring import reason_text
from academy.retention.service import retention_service
from academy.user.service import user_service
from academy.web.forms import form_data, parse
from academy.web.templating import is_htmx, local_time, page_renderer

router = APIRouter(prefix="/curator")
Curator = Annotated[User, Depends(require(Role.curator, Role.admin))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A form's "all courses" option sends `course=` empty, which an int parameter would refuse.
CourseText = Annotated[str | None, Query(alias="course", max_length=20)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
DateText = Annotated[str | None, Query(max_length=10)]
StatusTab = Literal["all", "at_risk", "active", "idle", "dropped", "completed"]
SortKey = Literal["risk", "name", "progress", "last_activity", "enrolled"]
Order = Literal["asc", "desc"]
_ = i18n.gettext

ROSTER_SIZE = 20
CARD_DAYS = 30
# The dashboard's heat-table follows the cohorts of the last 12 weeks (a 30-day range shows too few).
RETENTION_DAYS = 84
# The notification service filters by user, not by kind: the panel reads this many of the newest and
# keeps the kinds a curator acts on (see panel_kind).
PANEL_SCAN = 50
PANEL_SIZE = 8
ROSTER_TARGET = "curator-students"


# --- shared helpers -------------------------------------------------------------------------------


def ago(moment: datetime | None) -> str:
    """ "3 days ago" in the viewer's language (the exact time goes in a title next to it)."""
    if moment is None:
        return _("never")
    seconds = (clock.now() - moment).total_seconds()
    if seconds >= 86400:
        n = int(seconds // 86400)
        return i18n.ngettext("%(num)d day ago", "%(num)d days ago", n) % {"num": n}
    if seconds >= 3600:
        n = int(seconds // 3600)
        return i18n.ngettext("%(num)d hour ago", "%(num)d hours ago", n) % {"num": n}
    if seconds >= 60:
        n = int(seconds // 60)
        return i18n.ngettext("%(num)d minute ago", "%(num)d minutes ago", n) % {"num": n}
    return _("just now")


def status_labels() -> dict[str, str]:
    return {
        "all": _("All"),
        "at_risk": _("At risk"),
        "active": _("Active"),
        "idle": _("Idle"),
        "dropped": _("Dropped"),
        "completed": _("Completed"),
    }


STATUS_COLOURS = {
    "at_risk": "red",
    "active": "green",
    "idle": "yellow",
    "dropped": "secondary",
    "completed": "blue",
}
KIND_COLOURS = {"homework_submitted": "blue", "student_at_risk": "red", "coach": "purple"}


def _helpers(user: User) -> dict[str, Any]:
    locale = i18n.get_locale()

    def reason(r: Reason) -> str:
        return reason_text(r, locale)

    return {
        "tz": user.timezone,
        "ago": ago,
        "reason_text": reason,
        "status_labels": status_labels(),
        "status_colours": STATUS_COLOURS,
        "kind_colours": KIND_COLOURS,
        "kind_labels": {
            "homework_submitted": _("Homework"),
            "student_at_risk": _("At risk"),
            "coach": _("Coach"),
        },
        "level_labels": {"low": _("low risk"), "medium": _("medium risk"), "high": _("high risk")},
    }


_page = page_renderer(_helpers)


def _course_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        course_id = int(value)
    except ValueError:
        course_id = 0
    if not 1 <= course_id <= 2**63 - 1:
        raise Unprocessable(_("Choose a course from the list"))
    return course_id


async def _courses_for(uow: UnitOfWork, user: User) -> list[Any]:
    """The courses the viewer may filter by: the ones they curate; admins see every course."""
    courses = list(await course_service.all_courses(uow.session))
    if user.role == Role.admin:
        return courses
    curated = await enrollment_service.curated_course_ids(uow.session, user)
    return [c for c in courses if c.id in curated]


# --- metric cards ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    previous: str = "—"
    change: float | None = None
    hint: str | None = None
    link: str | None = None
    lower_is_better: bool = False


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(n)s h") % {"n": f"{value:.1f}" if value < 10 else f"{value:.0f}"}


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def metric_cards(
    comparison: ComparisonRead, *, at_risk: int | None = None, pending: int | None = None
) -> list[Card]:
    """The figures people compare, each with last period's value and the relative change."""
    now, before, change = comparison.current, comparison.previous, comparison.changes

    def card(key: str, label: str, fmt: Any, **extra: Any) -> Card:
        return Card(
            key=key,
            label=label,
            value=fmt(getattr(now, key)),
            previous=fmt(getattr(before, key)),
            change=change.get(key),
            **extra,
        )

    cards = [
        card(
            "active_weekly",
            _("Active students (7 days)"),
            _count,
            hint=_("%(n)d today") % {"n": now.active_daily},
        ),
    ]
    if at_risk is not None:
        cards.append(
            Card(key="at_risk", label=_("At risk now"), value=str(at_risk), link="/curator?status=at_risk")
        )
    cards.append(
        card(
            "completion_rate",
            _("Completion rate"),
            _pct,
            hint=_("of enrolments made in the period"),
        )
    )
    if pending is not None:
        cards.append(
            Card(
                key="pending_review",
                label=_("Homework awaiting review"),
                value=str(pending),
                link="/curator/reviews",
            )
        )
    cards += [
        card(
            "turnaround_median_hours",
            _("Homework turnaround, median"),
            _hours,
            hint=_("90th percentile: %(p90)s") % {"p90": _hours(now.turnaround_p90_hours)},
            lower_is_better=True,
        ),
        card(
            "ai_agreement_exact",
            _("AI pre-grade agreement"),
            _pct,
            hint=_("AI score equal to the final grade"),
        ),
        card(
            "nudge_return_rate",
            _("Came back after a nudge"),
            _pct,
            hint=_("held out: %(rate)s") % {"rate": _pct(now.holdout_return_rate)},
        ),
        card("coach_resolution_rate", _("Coach resolution rate"), _pct, hint=_("answered without a human")),
        card("curator_hours_saved", _("Curator hours saved"), lambda v: f"{v:.1f}"),
    ]
    return cards


def active_chart(summary: SummaryRead) -> dict[str, list[Any]]:
    return {
        "labels": [d.day.strftime("%d %b") for d in summary.active_by_day],
        "values": [d.users for d in summary.active_by_day],
    }


def nudge_chart(summary: SummaryRead) -> dict[str, list[Any]]:
    return {
        "labels": [_("Nudged"), _("Held out")],
        "values": [summary.nudge_return_rate, summary.holdout_return_rate],
    }


# --- the dashboard --------------------------------------------------------------------------------


def _roster_url(query: RosterQuery, page: int, size: int) -> Any:
    """Builds dashboard URLs that keep every filter, changing only what the caller names."""
    current: dict[str, Any] = {
        "status": query.status,
        "q": query.q,
        "course": query.course_id,
        "sort": query.sort,
        "order": query.order,
        "page": page,
        "size": size,
    }
    defaults: dict[str, Any] = {
        "status": "all",
        "q": "",
        "course": None,
        "sort": "risk",
        "order": "desc",
        "page": 1,
        "size": ROSTER_SIZE,
    }

    def url(**changes: Any) -> str:
        params = current | changes
        kept = {k: v for k, v in params.items() if v is not None and v != defaults[k]}
        return "/curator" + ("?" + urlencode(kept) if kept else "")

    return url


def page_window(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers around the current one, the first and the last; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - width), min(pages, page + width) + 1)})
    out: list[int | None] = []
    for p in shown:
        if out and p - (out[-1] or 0) > 1:
            out.append(None)
        out.append(p)
    return out


def panel_kind(item: NotificationRead) -> str | None:
    """Which of the curator's kinds a notification is, or None for the rest.

    The notification domain does not list the contract's kinds yet, so homework and retention send
    theirs under "homework" and "learning"; their links say what they are.
    """
    link = item.link or ""
    if item.kind == "homework_submitted" or link.startswith("/curator/reviews"):
        return "homework_submitted"
    if item.kind == "student_at_risk" or link.startswith("/curator/students/"):
        return "student_at_risk"
    if item.kind == "coach" and link.startswith("/coach/queue"):
        return "coach"
    return None


async def _panel(uow: UnitOfWork, user: User) -> list[tuple[str, NotificationRead]]:
    recent = await notification_service.page(uow.session, user, PageParams(page=1, size=PANEL_SCAN))
    kinds = [(panel_kind(n), n) for n in recent.items]
    return [(kind, n) for kind, n in kinds if kind is not None][:PANEL_SIZE]


def _tabs(counts: dict[str, int]) -> tuple[list[tuple[str, str]], dict[str, int]]:
    labels = status_labels()
    counts = dict(counts)
    counts.setdefault("all", sum(v for k, v in counts.items() if k != "all"))
    return [
        (key, labels[key]) for key in ("all", "at_risk", "active", "idle", "dropped", "completed")
    ], counts


@router.get("", name="curator:dashboard")
async def dashboard(
    request: Request,
    uow: UoW,
    user: Curator,
    status: StatusTab = "all",
    q: Annotated[str, Query(max_length=100)] = "",
    course_text: CourseText = None,
    sort: SortKey = "risk",
    order: Order = "desc",
    page: PageNumber = 1,
    size: Annotated[int, Query(ge=1, le=100)] = ROSTER_SIZE,
) -> Response:
    course = _course_id(course_text)
    query = RosterQuery(status=status, q=q.strip(), course_id=course, sort=sort, order=order)
    roster = await retention_service.roster(uow.session, user, query, PageParams(page=page, size=size))
    tabs, counts = _tabs(await retention_service.counts(uow.session, user, course))
    context: dict[str, Any] = {
        "roster": roster,
        "counts": counts,
        "status_tabs": tabs,
        "status": status,
        "q": query.q,
        "course": course,
        "sort": sort,
        "order": order,
        "size": size,
        "default_size": ROSTER_SIZE,
        "roster_url": _roster_url(query, page, size),
        "page_window": page_window,
    }
    if is_htmx(request) and request.headers.get("hx-target") == ROSTER_TARGET:
        return _page(request, user, "curator/dashboard.html", context, block="students")
    # The cards and charts arrive as fragments of their own (/curator/cards, /curator/charts): the
    # metrics read a month of the activity stream, and the students table must not wait for them.
    pending = await homework_service.pending_review_count(uow.session, user)
    context |= {
        "courses": await _courses_for(uow, user),
        "pending": pending,
        "notifications": await _panel(uow, user),
    }
    return _page(request, user, "curator/dashboard.html", context)


def _cards_query() -> MetricsQuery:
    today = clock.now().date()
    return MetricsQuery.build(start=today - timedelta(days=CARD_DAYS - 1), end=today)


@router.get("/cards", name="curator:cards")
async def cards(request: Request, uow: UoW, user: Curator) -> Response:
    """The dashboard's metric cards (loaded by the page once it is shown): all the viewer's
    courses, whatever course the roster is filtered by."""
    comparison = await metrics_service.comparison(uow.session, user, _cards_query())
    overall = await retention_service.counts(uow.session, user, None)
    pending = await homework_service.pending_review_count(uow.session, user)
    context = {"cards": metric_cards(comparison, at_risk=overall.get("at_risk", 0), pending=pending)}
    return _page(request, user, "curator/dashboard.html", context, block="cards")


@router.get("/charts", name="curator:charts")
async def charts(request: Request, uow: UoW, user: Curator) -> Response:
    """The dashboard's charts: active students by day, nudge returns and the cohort heat-table."""
    query = _cards_query()
    summary = await metrics_service.summary(uow.session, user, query)
    retention_query = MetricsQuery.build(start=query.end - timedelta(days=RETENTION_DAYS - 1), end=query.end)
    context = {
        "active_chart_data": active_chart(summary),
        "nudge_chart_data": nudge_chart(summary),
        "retention": await metrics_service.retention(uow.session, user, retention_query),
    }
    return _page(request, user, "curator/dashboard.html", context, block="charts")


@router.get("/notifications", name="curator:notifications")
async def notifications(request: Request, uow: UoW, user: Curator) -> Response:
    """The live panel's fragment; curator.js asks for it when a notification arrives on /ws."""
    context = {"notifications": await _panel(uow, user)}
    return _page(request, user, "curator/dashboard.html", context, block="notifications")


# --- one student ----------------------------------------------------------------------------------


def nudge_outcome(nudge: NudgeRead) -> str:
    """yes: came back within 7 days; no: the 7 days passed without activity; pending: still open."""
    if nudge.returned_at is not None:
        return "yes"
    if clock.now() - nudge.sent_at >= timedelta(days=RETURN_WINDOW_DAYS):
        return "no"
    return "pending"


def _channel_choices() -> list[tuple[str, str]]:
    return [
        ("auto", _("Automatic (Telegram when linked, else email)")),
        ("email", _("Email")),
        ("telegram", _("Telegram")),
    ]


async def _homework(uow: UnitOfWork, user: User, detail: StudentDetail) -> list[AssignmentStatus]:
    """The course's assignments as the student sees them (state, attempts, latest submission)."""
    listed = await homework_service.assignments(uow.session, user, course_id=detail.row.course_id)
    # Drafts are not the student's homework yet (and the student's view of one is a 404).
    assignments = [a for a in listed if a.published]
    if not assignments:
        return []
    student = await user_service.get(uow.session, detail.row.user_id)
    return [await homework_service.status(uow.session, student, a.id) for a in assignments]


async def _student_page(
    request: Request,
    uow: UnitOfWork,
    user: User,
    detail: StudentDetail,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context: dict[str, Any] = {
        "detail": detail,
        "homework": await _homework(uow, user, detail),
        "nudge_outcome": nudge_outcome,
        "channel_choices": _channel_choices(),
        "channel_labels": {"email": _("Email"), "telegram": _("Telegram"), "in_app": _("In the app")},
        "mode_labels": {"manual": _("By a curator"), "auto": _("Automatic")},
        "hw_labels": {
            "open": _("Open"),
            "submitted": _("Submitted"),
            "proposed": _("Awaiting review"),
            "final": _("Graded"),
            "overdue": _("Overdue"),
        },
        "hw_colours": {
            "open": "secondary",
            "submitted": "blue",
            "proposed": "yellow",
            "final": "green",
            "overdue": "red",
        },
        "feature_labels": {
            "days_since_activity": _("Days since the last activity"),
            "lessons_behind": _("Lessons behind the expected pace"),
            "overdue_homework": _("Overdue homework"),
            "failed_homework": _("Failed homework"),
            "quiz_trend": _("Quiz score trend"),
            "quiz_avg": _("Quiz average"),
            "streak_lost": _("Streak lost (days)"),
            "coach_questions_14d": _("Questions to the coach, 14 days"),
            "days_enrolled": _("Days enrolled"),
            "progress_pct": _("Progress (percent)"),
        },
        **extra,
    }
    return _page(request, user, "curator/student.html", context, status_code=status_code)


@router.get("/students/{enrollment_id}", name="curator:student")
async def student(
    request: Request, enrollment_id: Id, uow: UoW, user: Curator, nudged: bool = False
) -> Response:
    detail = await retention_service.student(uow.session, user, enrollment_id)
    return await _student_page(request, uow, user, detail, nudged=nudged)


def _cap_message(next_at: datetime | None, user: User) -> str:
    if next_at is None:
        return _("This student was nudged recently; try again later.")
    when = local_time(next_at, user.timezone, "%d %b %Y %H:%M")
    return _("This student was nudged recently. The next nudge is possible on %(when)s.") % {"when": when}


@router.post("/students/{enrollment_id}/nudge", name="curator:nudge")
async def nudge(request: Request, enrollment_id: Id, uow: UoW, user: Curator) -> Response:
    """One route for the roster's button (HTMX: the row comes back, errors as toasts) and the detail
    page's form (a plain POST: redirect on success, the page with the error inline otherwise)."""
    data = await form_data(request)
    given = {"channel": data.get("channel") or "auto", "message": (data.get("message") or "").strip() or None}
    parsed, errors = parse(NudgeCreate, given)
    row = is_htmx(request) and request.headers.get("hx-target", "").startswith("student-row-")
    error: AppError | None = None
    message = ""
    if parsed is None:
        error = Unprocessable()
        message = (
            _("Choose how to send the nudge: automatic, email or Telegram")
            if "channel" in errors
            else _("A message can be at most 1000 characters")
        )
    else:
        try:
            await retention_service.nudge(uow.session, user, enrollment_id, parsed)
        except (Conflict, Unprocessable) as exc:
            error = exc
    detail = await retention_service.student(uow.session, user, enrollment_id)
    if error is not None:
        if isinstance(error, NudgeCapReached):
            message = _cap_message(error.next_at, user)
        elif isinstance(error, Conflict):
            message = _cap_message(detail.next_nudge_at, user)
        elif not message:
            message = str(error.detail)
        if is_htmx(request):
            return htmx.toast(Response(status_code=error.status_code), message)
        return await _student_page(
            request, uow, user, detail, status_code=error.status_code, nudge_error=message, given=given
        )
    if row:
        return _page(request, user, "curator/_row.html", {"s": detail.row, "just_nudged": True})
    return RedirectResponse(f"/curator/students/{enrollment_id}?nudged=1", status_code=303)


# --- metrics --------------------------------------------------------------------------------------


@router.get("/metrics", name="curator:metrics")
async def metrics(
    request: Request,
    uow: UoW,
    user: Curator,
    start: DateText = None,
    end: DateText = None,
    course_text: CourseText = None,
) -> Response:
    course = _course_id(course_text)
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {"start": None, "end": None}
    for field, value in (("start", start), ("end", end)):
        if value and value.strip():
            try:
                days[field] = date.fromisoformat(value.strip())
            except ValueError:
                errors[field] = _("Write the date as YYYY-MM-DD")
    query: MetricsQuery | None = None
    if not errors:
        try:
            query = MetricsQuery.build(start=days["start"], end=days["end"], course_id=course)
        except Unprocessable:
            first, last = days["start"], days["end"]
            errors["end"] = (
                _("The end date must not be before the start date")
                if first and last and first > last
                else _("Choose a range of at most a year, between 2000 and 2999")
            )
    context: dict[str, Any] = {
        "start": start or "",
        "end": end or "",
        "course": course,
        "courses": await _courses_for(uow, user),
        "errors": errors,
        "comparison": None,
        "api_url": None,
    }
    if query is None:
        return _page(request, user, "curator/metrics.html", context, status_code=422)
    comparison = await metrics_service.comparison(uow.session, user, query)
    retention: RetentionRead = await metrics_service.retention(uow.session, user, query)
    previous = query.previous()
    api_params = {"start": query.start.isoformat(), "end": query.end.isoformat()}
    if course is not None:
        api_params["course_id"] = str(course)
    context |= {
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "previous_start": previous.start.isoformat(),
        "previous_end": previous.end.isoformat(),
        "comparison": comparison,
        "cards": metric_cards(comparison),
        "retention": retention,
        "active_chart_data": active_chart(comparison.current),
        "nudge_chart_data": nudge_chart(comparison.current),
        "api_url": "/api/v1/metrics/comparison?" + urlencode(api_params),
    }
    return _page(request, user, "curator/metrics.html", context)
