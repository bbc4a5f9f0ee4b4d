"""The demo school's longer history (academy.demo_school): months of cohorts, homework, dropout risk and
metrics, made through the services, give the curator's dashboard real data to open on."""

from datetime import timedelta

import pytest

pytestmark = pytest.mark.slow


async def test_school_history_fills_the_curator_dashboard(settings):
    from academy.analytics.schemas import MetricsQuery
    from academy.analytics.service import metrics_service
    from academy.certificate.service import certificate_service
    from academy.demo import CURATOR_EMAIL, STUDENT_EMAIL, load_demo, load_school
    from academy.enrollment.service import enrollment_service
    from academy.homework.service import homework_service
    from academy.kit import clock
    from academy.kit.pagination import PageParams
    from academy.kit.uow import UnitOfWork
    from academy.retention.schemas import RosterQuery
    from academy.retention.service import retention_service
    from academy.user.service import user_service

    async with UnitOfWork() as uow:
        await load_demo(uow.session, students=6, cohorts=3, cohort_size=12)

    async with UnitOfWork() as uow:
        session = uow.session
        curator = await user_service.by_email(session, CURATOR_EMAIL)
        today = clock.now().date()
        history = MetricsQuery(start=today - timedelta(days=220), end=today)

        # Enrolments spread over several months, and the weekly retention curves have data.
        retention = await metrics_service.retention(session, curator, history, weeks=8)
        months = {c.week.strftime("%Y-%m") for c in retention.cohorts if c.size}
        assert len(months) >= 4, months
        assert any(share for c in retention.cohorts for share in c.retained if share), retention

        # Every roster status the dashboard filters by is there: some finished, some gave up,
        # some are at risk right now, each with the reasons the curator reads.
        counts = await retention_service.counts(session, curator)
        assert counts["completed"] >= 5 and counts["dropped"] >= 5, counts
        assert counts["at_risk"] >= 1 and counts["active"] >= 1, counts
        at_risk = await retention_service.roster(
            session, curator, RosterQuery(status="at_risk"), PageParams()
        )
        assert at_risk.items and all(row.risk and row.risk.reasons for row in at_risk.items)
        assert all(row.risk.reasons[0].text for row in at_risk.items if row.risk)

        # Completions came through the real flow: each completed enrolment has its certificate.
        completed = await retention_service.roster(
            session, curator, RosterQuery(status="completed"), PageParams()
        )
        assert completed.items
        for row in completed.items:
            assert await certificate_service.for_user_course(session, row.user_id, row.course_id)

        # Homework: some still waits for the curator, most is graded, and the curator did not agree
        # with every AI proposal.
        assert await homework_service.pending_review_count(session, curator) >= 1
        agreement = await homework_service.agreement(session, curator)
        assert agreement.reviewed >= 10
        assert agreement.exact_rate is not None and 0 < agreement.exact_rate < 1, agreement

        summary = await metrics_service.summary(session, curator, history)
        assert summary.completions >= 5 and summary.homework_graded >= 10
        assert summary.turnaround_median_hours is not None and summary.turnaround_median_hours > 1
        # Nudges went out and their outcomes were tracked.
        assert summary.nudges_sent >= 3 and summary.nudge_return_rate is not None, summary
        nudged = [
            row
            for status in ("dropped", "at_risk", "active", "idle", "completed")
            for row in (
                await retention_service.roster(session, curator, RosterQuery(status=status), PageParams())
            ).items
            if row.last_nudge_at is not None
        ]
        assert nudged
        outcomes = [
            n
            for row in nudged
            for n in (await retention_service.student(session, curator, row.enrollment_id)).nudges
        ]
        assert any(n.returned_at for n in outcomes) and any(n.returned_at is None for n in outcomes)
        assert {n.mode for n in outcomes} == {"auto", "manual"}

        # The nightly snapshots exist for the history, not only from today on.
        snapshots = await metrics_service.snapshots(session, curator, history)
        assert len({s.day for s in snapshots}) >= 150

        # The demo student's story is unchanged by the longer history.
        sam = await user_service.by_email(session, STUDENT_EMAIL)
        [course] = (await enrollment_service.enrollments(session, sam, PageParams())).items
        assert 30 < course.progress_pct < 60

    async with UnitOfWork() as uow:
        assert await load_school(uow.session, students=6, cohorts=3, cohort_size=12) is False
