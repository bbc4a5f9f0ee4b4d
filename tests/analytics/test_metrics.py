"""School metrics through /api/v1/metrics, checked against figures worked out by hand from the
history in tests/analytics/school.py (read its docstring next to these tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from academy.analytics.schemas import MetricsQuery
from academy.analytics.service import metrics_service
from academy.auth import tokens
from academy.homework.service import homework_service
from academy.kit import clock, jobs
from academy.kit.uow import UnitOfWork
from academy.models import MetricSnapshot, RiskEpisode, Role, User
from tests.analytics.school import School, at, build_school
from tests.fixtures.app import make_user
from tests.fixtures.learning import complete, enroll, make_course


@pytest.fixture
async def school(settings, tmp_path) -> School:
    return await build_school(tmp_path)


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create_access_token(user.id, user.role)}"}


async def get(client: httpx.AsyncClient, user: User, path: str, **params: Any) -> dict[str, Any]:
    r = await client.get(f"/api/v1/metrics/{path}", params=params, headers=bearer(user))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_summary_of_the_whole_school(client, school):
    s = await get(client, school.admin, "summary", start="2026-03-02", end="2026-03-12")
    # Enrolments 03-02..03-12: s1 A, s5 B, s2 A, s3 A, s4 A, s6 B, s1 B.
    assert s["enrollments"] == 7
    # Active on 03-12: s1 (enrols in B), s6 (lesson in B).
    assert s["active_daily"] == 2
    # 03-06..03-12: s4 (03-09), s1 (03-10..12), s6 (03-10, 03-12).
    assert s["active_weekly"] == 3
    # 02-11..03-12: all six students.
    assert s["active_monthly"] == 6
    assert s["stickiness"] == pytest.approx(2 / 6, abs=1e-4)
    # s1 completed course A on 03-11; 1 of the 7 enrolments made in the range is completed.
    assert s["completions"] == 1
    assert s["completion_rate"] == pytest.approx(1 / 7, abs=1e-4)
    assert s["completions_by_week"] == [
        {"week": "2026-03-02", "count": 0},
        {"week": "2026-03-09", "count": 1},
    ]
    # Per day: 03-02 s1,s5 | 03-03 s1,s2 | 03-04 s2,s3 | 03-05 s5 | 06–08 nobody | 03-09 s4 |
    # 03-10 s1,s6 | 03-11 s1 | 03-12 s1,s6.
    assert [d["users"] for d in s["active_by_day"]] == [2, 2, 2, 1, 0, 0, 0, 1, 2, 1, 2]
    assert s["active_by_day"][0]["day"] == "2026-03-02" and s["active_by_day"][-1]["day"] == "2026-03-12"

    # Homework: submitted by s1, s2, s3 (text) and s5 (quiz); graded s1, s2 and the quiz.
    assert s["homework_submitted"] == 4
    assert s["homework_graded"] == 3
    # Turnaround without the self-scoring quiz: 168 h and 6 h -> median 87 h, p90 (nearest rank) 168 h.
    assert s["turnaround_median_hours"] == pytest.approx(87.0)
    assert s["turnaround_p90_hours"] == pytest.approx(168.0)
    # Criteria compared: s1 confirmed (0, 0), s2 one point off on one (1, 0) -> 3 of 4 exact, MAD 1/4.
    assert s["ai_agreement_exact"] == pytest.approx(0.75)
    assert s["ai_agreement_mad"] == pytest.approx(0.25)
    # The same figures as the homework domain's own agreement over the same days.
    async with UnitOfWork() as uow:
        official = await homework_service.agreement(
            uow.session, school.admin, start=at("03-02", 0), end=at("03-13", 0)
        )
    assert (s["ai_agreement_exact"], s["ai_agreement_mad"]) == (official.exact_rate, official.mean_abs_diff)

    # Nudges sent in range: e1, e2. Nudged treatment episodes: e1 returned, e2 not -> 1/2.
    # Holdout: e4 returned, e5 not, e6 returned -> 2/3. Lift 0.5 - 0.6667.
    assert s["nudges_sent"] == 2
    assert s["nudge_return_rate"] == pytest.approx(0.5)
    assert s["holdout_return_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["nudge_lift"] == pytest.approx(0.5 - 2 / 3, abs=1e-3)

    # Coach in range: 5 questions; resolved: the three "spread" answers -> 3/5.
    # Times 100, 300, 200, 400, 500 -> median 300, p95 (nearest rank of 5) 500.
    assert s["coach_questions"] == 5
    assert s["coach_resolution_rate"] == pytest.approx(0.6)
    assert s["coach_response_p50_ms"] == 300
    assert s["coach_response_p95_ms"] == 500
    # (3 coach answers × 6 min + 1 confirmed pre-grade × 12 min) / 60 = 0.5 h.
    assert s["curator_hours_saved"] == pytest.approx(0.5)


async def test_a_curator_sees_their_course_only(client, school):
    mine = await get(client, school.curator_a, "summary", start="2026-03-02", end="2026-03-12")
    explicit = await get(
        client, school.curator_a, "summary", start="2026-03-02", end="2026-03-12", course_id=school.a.id
    )
    assert {k: v for k, v in mine.items() if k != "course_id"} == {
        k: v for k, v in explicit.items() if k != "course_id"
    }
    # Course A: s1, s2, s3, s4 enrolled; nobody active in A on 03-12; 03-06..12 s4, s1; month s1–s4.
    assert (mine["enrollments"], mine["active_daily"], mine["active_weekly"], mine["active_monthly"]) == (
        4,
        0,
        2,
        4,
    )
    assert mine["stickiness"] == 0.0
    assert mine["completion_rate"] == pytest.approx(0.25)
    assert mine["homework_submitted"] == 3 and mine["homework_graded"] == 2
    # Nudged treatment in A: e1 returned, e2 not; holdout in A: e5 not returned -> lift 0.5.
    assert (mine["nudge_return_rate"], mine["holdout_return_rate"], mine["nudge_lift"]) == (0.5, 0.0, 0.5)
    # Coach in A: 4 questions, 2 resolved; times 100, 300, 200, 400 -> median 250, p95 400.
    assert mine["coach_questions"] == 4 and mine["coach_resolution_rate"] == 0.5
    assert (mine["coach_response_p50_ms"], mine["coach_response_p95_ms"]) == (250, 400)
    # (2 × 6 + 1 × 12) / 60 = 0.4 h.
    assert mine["curator_hours_saved"] == pytest.approx(0.4)

    r = await client.get(
        "/api/v1/metrics/summary", params={"course_id": school.b.id}, headers=bearer(school.curator_a)
    )
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    for path in ("retention", "comparison", "snapshots"):
        r = await client.get(
            f"/api/v1/metrics/{path}", params={"course_id": school.b.id}, headers=bearer(school.curator_a)
        )
        assert r.status_code == 403, path


async def test_retention_by_weekly_cohort(client, school):
    # Cohort of Mon 03-02: s1 A, s2 A, s3 A (03-04 is the last to enrol), s5 B -> 4.
    #   week 0: everyone (the enrolment itself is activity) -> 1.0
    #   week 1 (days 7–13): s1 (03-10); s2's next is 03-18 = day 15; s3, s5 nothing -> 1/4
    #   week 2 (days 14–20): s2 (03-18) -> 1/4
    #   week 3 ends 04-01 10:00 for s3, after the range ends (04-01 00:00) -> None
    # Cohort of Mon 03-09: s4 A, s6 B, s1 B (03-12, the last) -> 3.
    #   week 1: s4 (03-17) -> 1/3; week 2 ends 04-02 for s1 B -> None
    r = await get(client, school.admin, "retention", start="2026-03-02", end="2026-03-31", weeks=4)
    assert r["weeks"] == 4
    assert [(c["week"], c["size"]) for c in r["cohorts"]] == [("2026-03-02", 4), ("2026-03-09", 3)]
    assert r["cohorts"][0]["retained"] == [1.0, 0.25, 0.25, None]
    assert r["cohorts"][1]["retained"] == [1.0, pytest.approx(1 / 3, abs=1e-4), None, None]

    # Course A alone: 03-02 cohort s1, s2, s3 -> 1/3 in weeks 1 and 2; 03-09 cohort s4 alone:
    # week 1 yes, week 2 (03-23..03-30) no, week 3 ends 04-06 -> None.
    a = await get(client, school.curator_a, "retention", start="2026-03-02", end="2026-03-31", weeks=4)
    assert [c["size"] for c in a["cohorts"]] == [3, 1]
    third = pytest.approx(1 / 3, abs=1e-4)
    assert a["cohorts"][0]["retained"] == [1.0, third, third, None]
    assert a["cohorts"][1]["retained"] == [1.0, 1.0, 0.0, None]


async def test_retention_does_not_report_weeks_that_are_not_over_yet(client, school):
    # On 03-20 10:00 the 03-02 cohort (last member enrolled 03-04 10:00) has lived through week 1
    # (over 03-18 10:00) but not week 2 (over 03-25 10:00).
    # (Through the service: an access token minted on a frozen past clock is already expired.)
    query = MetricsQuery(start=date(2026, 3, 2), end=date(2026, 3, 31))
    with clock.frozen(at("03-20")):
        async with UnitOfWork() as uow:
            r = await metrics_service.retention(uow.session, school.admin, query, weeks=3)
    assert r.cohorts[0].retained == [1.0, 0.25, None]


async def test_comparison_with_the_week_before(client, school):
    c = await get(client, school.admin, "comparison", start="2026-03-09", end="2026-03-15")
    assert (c["current"]["start"], c["previous"]["start"], c["previous"]["end"]) == (
        "2026-03-09",
        "2026-03-02",
        "2026-03-08",
    )
    # Enrolments: 3 this week (s4 A, s6 B, s1 B) against 4 (s1 A, s5 B, s2 A, s3 A) -> -25 %.
    assert (c["current"]["enrollments"], c["previous"]["enrollments"]) == (3, 4)
    assert c["changes"]["enrollments"] == pytest.approx(-0.25)
    # Weekly actives: s4, s1, s6 against s1, s5, s2, s3 -> -25 %.
    assert c["changes"]["active_weekly"] == pytest.approx(-0.25)
    # Coach questions: none this week against 5 -> -100 %.
    assert c["changes"]["coach_questions"] == pytest.approx(-1.0)
    # One completion against none: no relative change from zero.
    assert (c["current"]["completions"], c["changes"]["completions"]) == (1, None)
    # Nobody active on either last day (03-15, 03-08): stickiness 0 against 0 -> None.
    assert c["changes"]["stickiness"] is None
    # No rate at all this week (no nudged episode) -> None.
    assert c["current"]["nudge_return_rate"] is None and c["changes"]["nudge_return_rate"] is None


async def test_snapshots_are_idempotent_and_scoped(client, school):
    async def count() -> int:
        async with UnitOfWork() as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(MetricSnapshot)) or 0)

    # 03-10: the whole school, course A and course B (both have enrolments by then).
    assert await jobs.run_task("analytics.snapshot", "2026-03-10") == 3
    assert await jobs.run_task("analytics.snapshot", "2026-03-10") == 3
    assert await count() == 3
    # The nightly run takes yesterday: on 03-11 00:15 that is 03-10 again, overwritten, not added.
    with clock.frozen(at("03-11", 0, 15)):
        assert await jobs.run_task("analytics.snapshot") == 3
    assert await count() == 3
    # 03-01: before any enrolment: only the school row, with zeros and no rates.
    async with UnitOfWork() as uow:
        assert await metrics_service.snapshot(uow.session, date(2026, 3, 1)) == 1
    assert await count() == 4

    rows = await client.get(
        "/api/v1/metrics/snapshots",
        params={"start": "2026-03-01", "end": "2026-03-10"},
        headers=bearer(school.admin),
    )
    assert rows.status_code == 200
    school_rows = rows.json()
    assert [(r["day"], r["scope"]) for r in school_rows] == [("2026-03-01", "all"), ("2026-03-10", "all")]
    empty, day = school_rows[0]["metrics"], school_rows[1]["metrics"]
    assert empty["enrollments"] == 0 and empty["stickiness"] is None and empty["completion_rate"] is None
    # 03-10: s6 enrolled; active that day s1 (A), s6 (B); 03-04..03-10 every student.
    assert (day["enrollments"], day["active_daily"], day["active_weekly"], day["active_monthly"]) == (
        1,
        2,
        6,
        6,
    )
    assert "active_by_day" not in day

    mine = (
        await client.get(
            "/api/v1/metrics/snapshots",
            params={"start": "2026-03-01", "end": "2026-03-10"},
            headers=bearer(school.curator_a),
        )
    ).json()
    assert [(r["scope"], r["course_id"]) for r in mine] == [(f"course:{school.a.id}", school.a.id)]
    # Course A on 03-10: s1 active (lesson 2 and the graded homework); s6 enrolled in B, not A.
    assert (mine[0]["metrics"]["active_daily"], mine[0]["metrics"]["enrollments"]) == (1, 0)


async def test_metrics_are_none_when_there_is_nothing_to_divide(client, settings):
    admin = await make_user(role=Role.admin)
    s = await get(client, admin, "summary", start="2026-03-01", end="2026-03-03")
    for name in (
        "stickiness",
        "completion_rate",
        "turnaround_median_hours",
        "turnaround_p90_hours",
        "ai_agreement_exact",
        "ai_agreement_mad",
        "nudge_return_rate",
        "holdout_return_rate",
        "nudge_lift",
        "coach_resolution_rate",
        "coach_response_p50_ms",
        "coach_response_p95_ms",
    ):
        assert s[name] is None, name
    assert s["enrollments"] == 0 and s["curator_hours_saved"] == 0
    assert s["active_by_day"] == [
        {"day": "2026-03-01", "users": 0},
        {"day": "2026-03-02", "users": 0},
        {"day": "2026-03-03", "users": 0},
    ]
    # A curator of no course sees an empty school, not someone else's.
    curator = await make_user(role=Role.curator)
    assert (await get(client, curator, "retention", start="2026-03-01", end="2026-03-03"))["cohorts"] == []


@pytest.mark.parametrize("path", ["summary", "retention", "comparison", "snapshots"])
async def test_students_and_experts_get_403(client, settings, path):
    for role in (Role.student, Role.expert):
        user = await make_user(role=role)
        r = await client.get(f"/api/v1/metrics/{path}", headers=bearer(user))
        assert r.status_code == 403, (role, r.text)
    assert (await client.get(f"/api/v1/metrics/{path}")).status_code == 401


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "start must not be after the end"),
        ({"start": "2025-01-01", "end": "2026-03-01"}, "at most 366 days"),
        ({"start": "9999-12-31"}, "start: must be between"),
        ({"end": "1900-01-01"}, "end: must be between"),
        ({"start": "2026-02-30"}, None),
        ({"start": "yesterday"}, None),
        ({"start": ""}, None),
        ({"end": "2026-03-01T10:00:00"}, None),
        ({"course_id": "0"}, None),
        ({"course_id": "99999999999999999999"}, None),
    ],
)
async def test_bad_ranges_are_a_clear_422(client, settings, params, says):
    admin = await make_user(role=Role.admin)
    for path in ("summary", "retention", "comparison", "snapshots"):
        r = await client.get(f"/api/v1/metrics/{path}", params=params, headers=bearer(admin))
        assert r.status_code == 422, (path, r.text)
        if says:
            assert says in str(r.json()["detail"]), r.text
    r = await client.get("/api/v1/metrics/retention", params={"weeks": 0}, headers=bearer(admin))
    assert r.status_code == 422


async def test_defaults_are_the_last_30_days_ending_today(client, settings):
    admin = await make_user(role=Role.admin)
    with clock.frozen(at("03-31", 15)):
        query = MetricsQuery.build()
        async with UnitOfWork() as uow:
            s = await metrics_service.summary(uow.session, admin, query)
    assert (s.start, s.end, len(s.active_by_day)) == (date(2026, 3, 2), date(2026, 3, 31), 30)
    assert MetricsQuery.build(end=date(2026, 3, 31)).start == date(2026, 3, 2)
    assert MetricsQuery.build(start=date(2026, 3, 2)).end == date(2026, 3, 31)
    today = (await get(client, admin, "summary"))["end"]
    assert today == clock.now().date().isoformat()
    r = await client.get("/api/v1/metrics/summary", params={"course_id": 999999}, headers=bearer(admin))
    assert r.status_code == 404


async def test_week_and_return_windows_are_exact_to_the_microsecond(settings, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=False)
    admin = await make_user(role=Role.admin)
    enrolled = datetime(2026, 3, 2, 10, tzinfo=UTC)
    seven_days = datetime(2026, 3, 9, 10, tzinfo=UTC)
    # s1 comes back exactly 7 days after enrolling, s2 a microsecond before, s3 a microsecond after.
    for offset in (0, -1, 1):
        student = await make_user(role=Role.student)
        with clock.frozen(enrolled):
            enrollment_id = await enroll(student, course.id)
        with clock.frozen(seven_days.replace(microsecond=0) + timedelta(microseconds=offset)):
            await complete(student, course.lessons[0])
        async with UnitOfWork() as uow:
            uow.session.add(
                RiskEpisode(
                    enrollment_id=enrollment_id,
                    user_id=student.id,
                    course_id=course.id,
                    started_at=enrolled,
                    score=80,
                    grp="holdout",
                )
            )
    query = MetricsQuery(start=date(2026, 3, 2), end=date(2026, 3, 31))
    async with UnitOfWork() as uow:
        retention = await metrics_service.retention(uow.session, admin, query, weeks=2)
        summary = await metrics_service.summary(uow.session, admin, query)
    # Week 1 is days [7, 14): s1 (exactly day 7) and s3 are in it, s2 (just before) is still week 0.
    assert retention.cohorts[0].retained == [1.0, pytest.approx(2 / 3, abs=1e-4)]
    # Returned within 7 days of the episode: s2 and s1 (exactly 7 days), not s3 -> 2/3.
    assert summary.holdout_return_rate == pytest.approx(2 / 3, abs=1e-4)


async def test_comparison_counts_both_periods_like_their_own_summaries(client, school):
    c = await get(client, school.admin, "comparison", start="2026-03-09", end="2026-03-15")
    current = await get(client, school.admin, "summary", start="2026-03-09", end="2026-03-15")
    previous = await get(client, school.admin, "summary", start="2026-03-02", end="2026-03-08")
    assert c["current"] == current and c["previous"] == previous
    # 03-02 s1,s5 | 03-03 s1,s2 | 03-04 s2,s3 | 03-05 s5 | 03-06..08 nobody.
    assert [d["users"] for d in c["previous"]["active_by_day"]] == [2, 2, 2, 1, 0, 0, 0]
    # 03-09 s4 | 03-10 s1,s6 | 03-11 s1 | 03-12 s1,s6 | 03-13..15 nobody.
    assert [d["users"] for d in c["current"]["active_by_day"]] == [1, 2, 1, 2, 0, 0, 0]


async def test_only_enrolled_students_count_as_active(client, school):
    from academy.activity.service import ActivityKind, activity_service

    # The curator of course A looks through a lesson of A on 03-12: activity, but not a student's.
    when = at("03-12", 15)
    with clock.frozen(when):
        async with UnitOfWork() as uow:
            await activity_service.record(
                uow.session, school.curator_a.id, ActivityKind.lesson_opened, course_id=school.a.id, at=when
            )
    s = await get(client, school.admin, "summary", start="2026-03-02", end="2026-03-12")
    assert (s["active_daily"], s["active_weekly"], s["active_monthly"]) == (2, 3, 6)
    assert s["active_by_day"][-1] == {"day": "2026-03-12", "users": 2}


async def test_the_figures_compile_without_sqlalchemy_warnings(school):
    """The AI-agreement query unnests two JSON arrays per submission: written as joins, so
    SQLAlchemy's linter finds no cartesian product (a warning here is an error)."""
    import warnings

    from sqlalchemy.exc import SAWarning

    query = MetricsQuery.build(start=date(2026, 3, 2), end=date(2026, 3, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        async with UnitOfWork() as uow:
            s = await metrics_service.summary(uow.session, school.admin, query)
    assert s.ai_agreement_exact == pytest.approx(0.75)
