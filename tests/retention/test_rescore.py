"""Rescoring: scores, episodes, hold-out, curator notifications, automatic nudges and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

from academy.kit import clock
from academy.models import Role
from tests.fixtures.db import reconfigure
from tests.fixtures.homework import make_assignment, make_curator
from tests.fixtures.learning import enroll, make_course
from tests.retention.builders import (
    NOON,
    add_activity,
    days,
    episodes,
    notifications_of,
    nudges,
    quick_students,
    rescore,
    score_of,
    student_with_history,
)


async def test_crossing_into_at_risk_opens_an_episode_and_tells_the_curators_once(
    settings, tmp_path, monkeypatch
):
    reconfigure(monkeypatch, nudge_holdout_share="0")
    course = await make_course(tmp_path, lessons=4, quiz=False)
    curator = await make_curator(course.id)
    other = await make_curator((await make_course(tmp_path, slug="other", lessons=1, quiz=False)).id)
    student, enrollment_id = await student_with_history(
        course.id,
        enrolled=NOON - days(16),
        lessons=[(course.lessons[0], NOON - days(16))],
        name="Maria Quiet",
    )
    report = await rescore(NOON)
    assert report.scored == 1 and report.crossed == 1 and report.scorer == "rules"
    score = await score_of(enrollment_id)
    assert score is not None and score.at_risk and score.score >= 60
    assert score.at_risk_since == NOON
    assert score.reasons[0]["code"] == "inactive" and score.reasons[0]["text"] == "no activity for 16 days"
    [episode] = await episodes([enrollment_id])
    assert episode.ended_at is None and episode.grp == "treatment" and episode.score == score.score

    [note] = await notifications_of(curator.id)
    assert "Maria Quiet" in note.title and str(score.score) in note.title
    assert note.link == f"/curator/students/{enrollment_id}"
    assert "no activity for 16 days" in note.body
    assert await notifications_of(other.id) == []

    # A second run an hour later: still at risk, same episode, no new notification, same "since".
    again = await rescore(NOON + days(1 / 24))
    assert again.crossed == 0
    assert len(await notifications_of(curator.id)) == 1
    assert (await score_of(enrollment_id)).at_risk_since == NOON
    assert len(await episodes([enrollment_id])) == 1

    # The student comes back: the event rescoring ends the episode.
    await add_activity(student.id, course.id, NOON + days(1))
    assert not (await score_of(enrollment_id)).at_risk
    [episode] = await episodes([enrollment_id])
    assert episode.ended_at == NOON + days(1)


async def test_dropped_and_completed_students_are_not_at_risk(settings, tmp_path):
    course = await make_course(tmp_path, lessons=1, quiz=False)
    _gone, gone_id = await student_with_history(course.id, enrolled=NOON - days(30))
    _done, done_id = await student_with_history(
        course.id, enrolled=NOON - days(30), lessons=[(course.lessons[0], NOON - days(29))]
    )
    await rescore(NOON)
    gone = await score_of(gone_id)
    assert gone is not None and gone.score >= 60 and not gone.at_risk
    assert await score_of(done_id) is None or not (await score_of(done_id)).at_risk
    assert await episodes() == []


async def test_overdue_homework_made_through_the_homework_service_counts(settings, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=False)
    with clock.frozen(NOON - days(20)):
        await make_assignment(course, kind="text", due_days=2)
    _student, enrollment_id = await student_with_history(course.id, enrolled=NOON - days(9))
    await rescore(NOON)
    score = await score_of(enrollment_id)
    assert score.features["overdue_homework"] == 1
    assert "1 homework overdue" in [r["text"] for r in score.reasons]


async def test_hold_out_share_is_honoured_and_held_out_episodes_are_never_nudged(
    settings, tmp_path, monkeypatch
):
    reconfigure(monkeypatch, nudge_holdout_share="0.25", nudge_cap="5")
    course = await make_course(tmp_path, lessons=2, quiz=False)
    ids = await quick_students(course.id, 200, enrolled=NOON - days(15))
    report = await rescore(NOON, course_id=course.id)
    assert report.scored == 200 and report.crossed == 200
    eps = await episodes(ids)
    held = [e for e in eps if e.grp == "holdout"]
    assert 35 <= len(held) <= 65 and report.held_out == len(held)
    nudged = {n.episode_id for n in await nudges(ids)}
    assert report.nudged == 200 - len(held) == len(nudged)
    assert not nudged & {e.id for e in held}
    # The draw is reproducible: the same enrolment and moment always land in the same group.
    from academy.retention.service import holdout_draw

    assert all(holdout_draw(e.enrollment_id, e.started_at, 0.25) == e.grp for e in eps)
    # A rerun nudges nobody twice.
    assert (await rescore(NOON + days(1 / 24), course_id=course.id)).nudged == 0


async def test_quiet_hours_follow_the_students_time_zone_and_a_later_run_sends_the_nudge(
    settings, tmp_path, monkeypatch
):
    reconfigure(monkeypatch, nudge_holdout_share="0")
    course = await make_course(tmp_path, lessons=2, quiz=False)
    # 14:00 UTC is 23:00 in Tokyo (quiet) and 14:00 in London's summer-less UTC.
    at = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
    _tokyo, tokyo_id = await student_with_history(course.id, enrolled=at - days(15), timezone="Asia/Tokyo")
    _utc, utc_id = await student_with_history(course.id, enrolled=at - days(15), timezone="UTC")
    report = await rescore(at)
    assert report.crossed == 2 and report.nudged == 1
    assert [n.enrollment_id for n in await nudges()] == [utc_id]
    # 23:30 UTC is 08:30 in Tokyo (quiet is over) and 23:30 in UTC (quiet now).
    later = datetime(2026, 6, 10, 23, 30, tzinfo=UTC)
    report = await rescore(later)
    assert report.crossed == 0 and report.nudged == 1
    sent = await nudges()
    assert [n.enrollment_id for n in sent] == [utc_id, tokyo_id]
    assert sent[1].mode == "auto" and sent[1].sent_at == later and sent[1].episode_id is not None


async def test_automatic_nudges_respect_the_cap_across_courses(settings, tmp_path, monkeypatch):
    reconfigure(monkeypatch, nudge_holdout_share="0")
    first = await make_course(tmp_path, lessons=2, quiz=False)
    second = await make_course(tmp_path, slug="second", lessons=2, quiz=False)
    student, a = await student_with_history(first.id, enrolled=NOON - days(15))
    with clock.frozen(NOON - days(15)):
        b = await enroll(student, second.id)
    report = await rescore(NOON)
    assert report.crossed == 2 and report.nudged == 1
    assert len(await nudges([a, b])) == 1


async def test_nudge_auto_off_sends_nothing(settings, tmp_path, monkeypatch):
    reconfigure(monkeypatch, nudge_auto="false", nudge_holdout_share="0")
    course = await make_course(tmp_path, lessons=2, quiz=False)
    await quick_students(course.id, 3, enrolled=NOON - days(15))
    report = await rescore(NOON)
    assert report.crossed == 3 and report.nudged == 0 and await nudges() == []


async def test_automatic_nudge_goes_to_telegram_when_linked_else_email_else_in_app(
    settings, tmp_path, monkeypatch
):
    from sqlalchemy import select, update

    from academy.kit.uow import UnitOfWork
    from academy.models import Email, TelegramMessage, User

    reconfigure(monkeypatch, nudge_holdout_share="0")
    course = await make_course(tmp_path, lessons=2, quiz=False, title="Risk Basics")
    tg, tg_id = await student_with_history(course.id, enrolled=NOON - days(15))
    mail, mail_id = await student_with_history(course.id, enrolled=NOON - days(15))
    plain, plain_id = await student_with_history(course.id, enrolled=NOON - days(15), verified=False)
    async with UnitOfWork() as uow:
        await uow.session.execute(update(User).where(User.id == tg.id).values(telegram_id=777001))
    await rescore(NOON)
    by_enrollment = {n.enrollment_id: n for n in await nudges()}
    assert by_enrollment[tg_id].channel == "telegram"
    assert by_enrollment[mail_id].channel == "email"
    assert by_enrollment[plain_id].channel == "in_app"
    assert "Risk Basics" in by_enrollment[mail_id].message and "Lesson 1" in by_enrollment[mail_id].message
    async with UnitOfWork() as uow:
        telegram = list(
            await uow.session.scalars(select(TelegramMessage).where(TelegramMessage.user_id == tg.id))
        )
        emails = list(await uow.session.scalars(select(Email).where(Email.user_id == mail.id)))
        # (Their only mail is the sign-up's "confirm your email".)
        none = list(
            await uow.session.scalars(
                select(Email).where(Email.user_id == plain.id, Email.subject != "Confirm your email")
            )
        )
    assert len(telegram) == 1 and "Risk Basics" in telegram[0].text
    assert len(emails) == 1 and "Risk Basics" in emails[0].body_text
    assert none == []
    assert [n.title for n in await notifications_of(plain.id)] == ["We miss you in your course"]


async def test_role_helpers_are_not_confused_by_staff(settings, tmp_path):
    # A staff member enrolled as a student is scored like anyone else.
    from tests.fixtures.app import make_user

    course = await make_course(tmp_path, lessons=1, quiz=False)
    expert = await make_user(role=Role.expert)
    with clock.frozen(NOON - days(3)):
        enrollment_id = await enroll(expert, course.id)
    await rescore(NOON)
    assert (await score_of(enrollment_id)).features["days_since_activity"] == 3


async def test_scores_read_from_the_database_are_point_in_time(settings, tmp_path):
    """Scoring at a past moment after more history exists gives what scoring then gave."""
    from tests.fixtures.learning import attempt, complete, right_answers, wrong_answers

    course = await make_course(tmp_path, lessons=4, quiz=[0, 1])
    with clock.frozen(NOON - days(30)):
        await make_assignment(course, kind="text", due_days=5)
    start = NOON - days(20)
    student, enrollment_id = await student_with_history(
        course.id, enrolled=start, lessons=[(course.lessons[0], start + days(1))]
    )
    with clock.frozen(start + days(2)):
        await attempt(student, course.quiz(0), right_answers(course.quiz(0)))
    cutoff = start + days(7)
    await rescore(cutoff)
    before = (await score_of(enrollment_id)).features
    # Later history: more lessons, a worse quiz, homework submitted, plenty of activity.
    for i, lesson in enumerate(course.lessons[1:3], start=8):
        with clock.frozen(start + days(i)):
            await complete(student, lesson)
    with clock.frozen(start + days(11)):
        await attempt(student, course.quiz(1), wrong_answers(course.quiz(1), 3))
    await rescore(cutoff)
    after = (await score_of(enrollment_id)).features
    assert after == before
    assert before["lessons_done"] == 1 and before["days_since_activity"] == 5
    assert before["quiz_avg"] == 100.0 and before["overdue_homework"] == 1
    await rescore(start + days(12))
    later = (await score_of(enrollment_id)).features
    assert later["lessons_done"] == 3 and later["quiz_avg"] == 70.0


async def test_hourly_job_scores_everyone_in_batches_and_events_rescore_their_enrolment(settings, tmp_path):
    from academy.kit import jobs

    course = await make_course(tmp_path, lessons=2, quiz=False)
    ids = await quick_students(course.id, 3, enrolled=NOON - days(15))
    assert [await score_of(i) for i in ids] == [None, None, None]
    with clock.frozen(NOON):
        assert await jobs.run_task("retention.rescore") == 1  # one batch queued, run after commit
    scores = [await score_of(i) for i in ids]
    assert all(s is not None and s.computed_at == NOON and s.at_risk for s in scores)
    # Enrolling is a learning event: the new enrolment is scored at once, by the event's own job.
    _student, fresh = await student_with_history(course.id, enrolled=NOON)
    fresh_score = await score_of(fresh)
    assert fresh_score is not None and fresh_score.computed_at == NOON and fresh_score.score == 0


async def test_a_roster_read_in_the_same_unit_of_work_sees_the_new_scores(settings, tmp_path):
    from academy.kit.pagination import PageParams
    from academy.kit.uow import UnitOfWork
    from academy.retention.schemas import RosterQuery
    from academy.retention.service import retention_service
    from tests.fixtures.app import make_user

    course = await make_course(tmp_path, lessons=2, quiz=False)
    admin = await make_user(role=Role.admin)
    [enrollment_id] = await quick_students(course.id, 1, enrolled=NOON - days(8))
    async with UnitOfWork() as uow:
        with clock.frozen(NOON):
            await retention_service.rescore(uow.session)
        with clock.frozen(NOON + days(4)):
            await retention_service.rescore(uow.session)
            page = await retention_service.roster(uow.session, admin, RosterQuery(), PageParams())
    [row] = page.items
    assert row.enrollment_id == enrollment_id and row.risk.computed_at == NOON + days(4)
    assert row.risk.reasons[0].text == "no activity for 12 days" and row.risk.score == 50 + 16
    assert row.status == "at_risk"
