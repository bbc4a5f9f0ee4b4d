"""Deadlines per student, late policies, resubmission limits and what the review queue shows."""

from datetime import UTC, datetime, timedelta

import pytest

from academy.activity.service import ActivityKind, activity_service
from academy.homework.service import homework_service
from academy.kit import clock
from academy.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import Role
from academy.notification.service import notification_service
from tests.fixtures.app import make_user
from tests.fixtures.homework import (
    GOOD_RISK_ANSWER,
    make_assignment,
    make_curator,
    review,
    submit_text,
)
from tests.fixtures.learning import backdate_enrollment, enroll, make_course

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def course(settings, tmp_path):
    return await make_course(tmp_path, lessons=2, deadline_days={1: 3})


async def status(user, assignment_id):
    async with UnitOfWork() as uow:
        return await homework_service.status(uow.session, user, assignment_id)


async def queue(curator, **options):
    async with UnitOfWork() as uow:
        return await homework_service.review_queue(uow.session, curator, PageParams(size=50), **options)


async def student_in(course, enrolled_at=T0):
    student = await make_user()
    enrollment_id = await enroll(student, course.id)
    await backdate_enrollment(enrollment_id, enrolled_at)
    return student


async def test_the_deadline_is_per_student_with_due_days_and_fixed_with_due_at(course):
    relative = await make_assignment(course, due_days=7)
    fixed = await make_assignment(course, due_at=datetime(2026, 4, 1, 12, tzinfo=UTC))
    by_lesson = await make_assignment(course, lesson=1)
    none = await make_assignment(course)
    early = await student_in(course, T0)
    late = await student_in(course, T0 + timedelta(days=10))

    assert (await status(early, relative.id)).due_at == T0 + timedelta(days=7)
    assert (await status(late, relative.id)).due_at == T0 + timedelta(days=17)
    assert (await status(early, fixed.id)).due_at == (await status(late, fixed.id)).due_at
    assert (await status(late, fixed.id)).due_at == datetime(2026, 4, 1, 12, tzinfo=UTC)
    # Neither set: the lesson's deadline_days after enrolment (3 for lesson 2), else no deadline.
    assert (await status(late, by_lesson.id)).due_at == T0 + timedelta(days=13)
    assert (await status(early, none.id)).due_at is None


async def test_late_work_is_accepted_and_flagged(course):
    assignment = await make_assignment(course, due_days=2, late_policy="accept")
    student = await student_in(course)
    with clock.frozen(T0 + timedelta(days=2, minutes=1)):
        sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert sent.late_days == 1 and sent.penalty_pct == 0
    curator = await make_curator(course.id)
    graded = await review(curator, sent.id, {"stop": 4, "risk": 4, "size": 2})
    assert graded.final_total == 10


async def test_a_late_penalty_applies_per_started_day_and_caps_at_100(course):
    assignment = await make_assignment(course, due_days=1, late_policy="penalty", late_penalty_pct=15)
    student = await student_in(course)
    curator = await make_curator(course.id)
    with clock.frozen(T0 + timedelta(days=3, hours=2)):  # 2 days 2 hours late: 3 started days
        sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert sent.late_days == 3 and sent.penalty_pct == 45
    graded = await review(curator, sent.id, {"stop": 4, "risk": 4, "size": 2})
    assert graded.final_total == 5.5  # 10 points less 45 %
    assert graded.passed is False  # 55 % < 60 %

    capped = await make_assignment(course, due_days=1, late_policy="penalty", late_penalty_pct=40)
    with clock.frozen(T0 + timedelta(days=5)):
        sent = await submit_text(student, capped.id, GOOD_RISK_ANSWER)
    assert sent.penalty_pct == 100
    assert (await review(curator, sent.id, {"stop": 4, "risk": 4, "size": 2})).final_total == 0


async def test_late_work_is_refused_under_the_reject_policy(course):
    assignment = await make_assignment(course, due_days=1, late_policy="reject")
    student = await student_in(course)
    with clock.frozen(T0 + timedelta(hours=23)):
        assert (await status(student, assignment.id)).can_submit
    with clock.frozen(T0 + timedelta(days=1, seconds=1)):
        current = await status(student, assignment.id)
        assert current.state == "overdue" and not current.can_submit
        assert "deadline" in (current.why_not or "")
        with pytest.raises(Conflict, match="does not accept late work"):
            await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    with clock.frozen(T0 + timedelta(hours=23)):
        assert (await submit_text(student, assignment.id, GOOD_RISK_ANSWER)).late_days == 0


async def test_attempts_are_limited_and_the_queue_shows_only_the_latest(course):
    assignment = await make_assignment(course, max_attempts=2)
    student = await student_in(course)
    curator = await make_curator(course.id)
    first = await submit_text(student, assignment.id, "I use a stop loss below the swing low on every trade.")
    assert [i.submission.id for i in (await queue(curator)).items] == [first.id]
    second = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert second.attempt == 2

    items = (await queue(curator)).items
    assert [i.submission.id for i in items] == [second.id]
    assert [i.submission.id for i in (await queue(curator, status="all")).items] == [second.id]
    async with UnitOfWork() as uow:
        assert (await homework_service.submission(uow.session, curator, first.id)).superseded
        assert await homework_service.pending_review_count(uow.session, curator) == 1

    with pytest.raises(Conflict, match="No attempts left"):
        await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    current = await status(student, assignment.id)
    assert current.attempts_used == 2 and current.attempts_left == 0 and not current.can_submit


async def test_no_new_attempt_once_a_final_grade_has_passed(course):
    assignment = await make_assignment(course, max_attempts=5)
    student = await student_in(course)
    curator = await make_curator(course.id)
    failed = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert (await review(curator, failed.id, {"stop": 1, "risk": 1, "size": 0})).passed is False
    again = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert (await review(curator, again.id, {"stop": 4, "risk": 3, "size": 2})).passed is True
    with pytest.raises(Conflict, match="passed"):
        await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert (await status(student, assignment.id)).state == "final"


async def test_empty_and_overlong_answers_are_refused_and_nothing_is_stored(course):
    assignment = await make_assignment(course)
    student = await student_in(course)
    for text in ("", "   \n\t "):
        with pytest.raises(Unprocessable, match="empty"):
            await submit_text(student, assignment.id, text)
    with pytest.raises(Unprocessable, match="20,000"):
        await submit_text(student, assignment.id, "a" * 20_001)
    assert (await status(student, assignment.id)).attempts_used == 0


async def test_only_enrolled_students_submit_and_drafts_are_invisible(course):
    assignment = await make_assignment(course)
    draft = await make_assignment(course, published=False)
    outsider = await make_user()
    with pytest.raises(Forbidden):
        await submit_text(outsider, assignment.id, GOOD_RISK_ANSWER)
    student = await student_in(course)
    with pytest.raises(NotFound):
        await submit_text(student, draft.id, GOOD_RISK_ANSWER)
    with pytest.raises(NotFound):
        await status(student, draft.id)
    async with UnitOfWork() as uow:
        listed = await homework_service.assignments(uow.session, student, course_id=course.id)
    assert [a.id for a in listed] == [assignment.id]
    assert listed[0].model_answer == ""  # the grader's key is not a hint for students


async def test_a_submission_is_recorded_notified_and_pregraded(course):
    assignment = await make_assignment(course)
    student = await student_in(course)
    curator = await make_curator(course.id)
    sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    assert sent.ai_scores is None  # the student never sees a proposal before the grade
    async with UnitOfWork() as uow:
        notes = await notification_service.recent(uow.session, curator)
        staff_view = await homework_service.submission(uow.session, curator, sent.id)
        events, _ = await activity_service.stream(
            uow.session, PageParams(), user_id=student.id, kinds=[ActivityKind.homework_submitted.value]
        )
    assert notes[0].link == f"/curator/reviews/{sent.id}" and notes[0].kind == "homework_submitted"
    assert student.display_name in notes[0].title and assignment.title in notes[0].title
    assert staff_view.status == "proposed" and staff_view.ai_grader == "rubric"
    assert staff_view.ai_scores and all(s.feedback for s in staff_view.ai_scores)
    assert [(e.course_id, e.data["submission_id"]) for e in events] == [(course.id, sent.id)]


async def test_without_curators_the_admins_are_notified(course):
    assignment = await make_assignment(course)
    admin = await make_user(role=Role.admin)
    student = await student_in(course)
    sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    async with UnitOfWork() as uow:
        notes = await notification_service.recent(uow.session, admin)
    assert notes and notes[0].link == f"/curator/reviews/{sent.id}"
