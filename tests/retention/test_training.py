"""Training the school's own risk model: refusals, honest AUCs, and activation only when it wins.

The synthetic schools are built through the real services (enrol, quiz, complete lessons) with a
frozen clock, so completions, quiz scores and activity events are what a real school would store.
"""

from __future__ import annotations

from datetime import datetime

from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import RiskModel, User
from academy.retention.service import retention_service
from tests.fixtures.learning import (
    CourseRef,
    attempt,
    complete,
    enroll,
    make_course,
    right_answers,
    wrong_answers,
)
from tests.retention.builders import NOON, count, days, quick_students, rescore, score_of

START = NOON - days(120)
TRAIN_AT = NOON


async def _quick_user(n: int, prefix: str) -> User:
    async with UnitOfWork() as uow:
        user = User(email=f"{prefix}{n}@example.com", name=f"{prefix} {n}", locale="en", timezone="UTC")
        uow.session.add(user)
        await uow.session.flush()
    return user


async def _student(
    course: CourseRef, n: int, prefix: str, *, enrolled: datetime, quiz_wrong: int, lesson_days: list[float]
) -> int:
    user = await _quick_user(n, prefix)
    with clock.frozen(enrolled):
        enrollment_id = await enroll(user, course.id)
    with clock.frozen(enrolled + days(0.5)):
        quiz = course.quiz(0)
        await attempt(user, quiz, wrong_answers(quiz, quiz_wrong) if quiz_wrong else right_answers(quiz))
    for d in lesson_days:
        with clock.frozen(enrolled + days(d)):
            await complete(user, course.lessons[lesson_days.index(d)])
    return enrollment_id


async def _school(tmp_path, *, completers: list[float], completer_quiz_wrong: int, dropper_quiz_wrong: int):
    course = await make_course(tmp_path, lessons=4, quiz=[0])
    ids = {"completed": [], "dropped": []}
    for n in range(24):
        enrolled = START + days(n)
        ids["completed"].append(
            await _student(
                course, n, "done", enrolled=enrolled, quiz_wrong=completer_quiz_wrong, lesson_days=completers
            )
        )
        ids["dropped"].append(
            await _student(
                course, n, "gone", enrolled=enrolled, quiz_wrong=dropper_quiz_wrong, lesson_days=[0.5]
            )
        )
    return course, ids


async def _train():
    async with UnitOfWork() as uow:
        with clock.frozen(TRAIN_AT):
            return await retention_service.train(uow.session)


async def test_training_refuses_with_too_few_finished_enrolments_or_classes(settings, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=False)
    await quick_students(course.id, 12, enrolled=START)
    report = await _train()
    assert not report.trained and not report.active
    assert report.reason == (
        "Not enough finished enrolments to train on: 12 (need at least 40: 0 completed, 12 dropped)"
    )
    await quick_students(course.id, 40, enrolled=START, prefix="more")
    report = await _train()
    assert not report.trained
    assert (
        report.reason == "Need at least 8 completed and 8 dropped enrolments; have 0 completed and 52 dropped"
    )
    assert await count(RiskModel) == 0


async def test_a_model_that_beats_the_rules_is_activated_and_used_by_rescoring(settings, tmp_path):
    # Completers are slow (a lesson every 9 days: the rules call them risky at first) and scored 80 % on
    # the quiz; dropouts aced it and vanished. The quiz average gives them away; the rules ignore it.
    course, _ids = await _school(
        tmp_path, completers=[0.5, 9.5, 18.5, 27.5], completer_quiz_wrong=1, dropper_quiz_wrong=0
    )
    report = await _train()
    assert report.trained and report.active, report
    assert report.auc is not None and report.rule_auc is not None
    assert report.auc > report.rule_auc and report.auc >= 0.95
    assert report.n_train > 0 and report.n_test > 0
    async with UnitOfWork() as uow:
        status = await retention_service.model_status(uow.session)
    assert (
        status.scorer == f"model:{report.model_id}" and status.active and status.active.id == report.model_id
    )
    assert status.active.details["enrollments_test"] == 12

    # Training is deterministic: the same school gives the same numbers.
    again = await _train()
    assert (again.auc, again.rule_auc, again.n_train, again.n_test) == (
        report.auc,
        report.rule_auc,
        report.n_train,
        report.n_test,
    )
    async with UnitOfWork() as uow:
        status = await retention_service.model_status(uow.session)
    assert [m.active for m in status.models] == [True, False]  # the newer one replaced the older

    # Rescoring now uses the model; its reasons are still the rule reasons in words.
    late = await quick_students(course.id, 1, enrolled=TRAIN_AT - days(10), prefix="new")
    result = await rescore(TRAIN_AT, enrollment_ids=late)
    assert result.scorer == f"model:{again.model_id}"
    score = await score_of(late[0])
    assert score.scorer == f"model:{again.model_id}" and 0 <= score.score <= 100
    assert score.reasons[0]["text"] == "no activity for 10 days"


async def test_a_model_that_does_not_beat_the_rules_stays_inactive(settings, tmp_path):
    # Completers learn steadily and finish within a week; dropouts vanish after a day. Inactivity (which
    # the rules weigh) separates them perfectly, so the model can at best tie the rules.
    course, _ids = await _school(
        tmp_path, completers=[0.5, 2.5, 4.5, 6.5], completer_quiz_wrong=1, dropper_quiz_wrong=1
    )
    report = await _train()
    assert report.trained and not report.active
    assert report.rule_auc == 1.0 and report.auc <= report.rule_auc
    assert "did not beat the rules" in report.reason
    late = await quick_students(course.id, 1, enrolled=TRAIN_AT - days(10), prefix="new")
    assert (await rescore(TRAIN_AT, enrollment_ids=late)).scorer == "rules"
    async with UnitOfWork() as uow:
        assert (await retention_service.model_status(uow.session)).scorer == "rules"
