"""Curators confirm or override the AI proposal; the student hears about the final grade only."""

from datetime import UTC, datetime

import pytest

from academy.homework.schemas import AssignmentCreate, ReviewCreate, ScoreEdit
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
    submission,
    submit_quiz,
    submit_text,
)
from tests.fixtures.learning import enroll, make_course, right_answers, wrong_answers


@pytest.fixture
async def course(settings, tmp_path):
    return await make_course(tmp_path, lessons=2)


async def enrolled(course):
    student = await make_user()
    await enroll(student, course.id)
    return student


async def latest_notification(user):
    async with UnitOfWork() as uow:
        return (await notification_service.recent(uow.session, user, 1))[0]


async def test_confirming_keeps_the_proposal_and_notifies_the_student(course):
    assignment = await make_assignment(course)
    student = await enrolled(course)
    curator = await make_curator(course.id)
    sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    proposal = await submission(curator, sent.id)
    assert proposal.status == "proposed" and proposal.ai_total is not None
    assert (await submission(student, sent.id)).ai_total is None

    graded = await review(curator, sent.id)
    assert graded.review == "confirmed" and graded.status == "final"
    assert graded.final_scores == proposal.ai_scores
    assert graded.final_total == proposal.ai_total and graded.reviewed_by_id == curator.id
    assert graded.final_feedback == proposal.ai_feedback
    note = await latest_notification(student)
    assert note.link == f"/homework/{assignment.id}"
    assert f"{graded.final_total:g} of 10" in note.title
    seen = await submission(student, sent.id)
    assert seen.final_total == graded.final_total and seen.ai_scores is not None  # final: now visible

    with pytest.raises(Conflict, match="already has a final grade"):
        await review(curator, sent.id)


async def test_overriding_validates_scores_against_the_rubric(course):
    assignment = await make_assignment(course)
    student = await enrolled(course)
    curator = await make_curator(course.id)
    sent = await submit_text(student, assignment.id, "I use a stop loss below the swing low, always.")
    for bad, message in (
        ({"stop": 4, "risk": 2}, "no score for: size"),
        ({"stop": 4, "risk": 2, "size": 3}, "size: points must be between 0 and 2"),
        ({"stop": 4, "risk": 2, "size": 1, "extra": 1}, "not in the rubric: extra"),
    ):
        with pytest.raises(Unprocessable, match=message):
            await review(curator, sent.id, bad)
    graded = await review(
        curator, sent.id, {"stop": 4, "risk": 0, "size": 0.5}, feedback="Say how much you risk."
    )
    assert graded.review == "overridden" and graded.final_total == 4.5 and graded.passed is False
    assert graded.final_feedback == "Say how much you risk."
    by_key = {s.key: s for s in graded.final_scores}
    assert by_key["stop"].feedback  # the AI's words stay where the curator wrote none
    assert "4.5 of 10" in (await latest_notification(student)).title


class HeldJobs:
    """A dispatcher that keeps jobs instead of running them: the worker has not picked them up yet."""

    def __init__(self):
        self.sent = []

    async def dispatch(self, name, args, kwargs):
        self.sent.append((name, args))


async def test_a_submission_without_proposal_can_be_graded_with_scores(course):
    from academy.kit import jobs

    assignment = await make_assignment(course)
    student = await enrolled(course)
    curator = await make_curator(course.id)
    held = HeldJobs()
    jobs.set_dispatcher(held)
    try:
        sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    finally:
        jobs.set_dispatcher(jobs.InlineDispatcher())
    assert ("homework.pregrade", (sent.id,)) in held.sent
    assert (await submission(curator, sent.id)).status == "submitted"
    with pytest.raises(Unprocessable, match="no AI proposal"):
        await review(curator, sent.id)
    graded = await review(curator, sent.id, {"stop": 4, "risk": 4, "size": 2})
    assert graded.final_total == 10 and graded.passed
    # The job arriving late leaves the curator's grade alone.
    async with UnitOfWork() as uow:
        await homework_service.pregrade(uow.session, sent.id)
    after = await submission(curator, sent.id)
    assert after.status == "final" and after.ai_total is None


async def test_pregrade_is_idempotent(course):
    assignment = await make_assignment(course)
    student = await enrolled(course)
    curator = await make_curator(course.id)
    sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)
    before = await submission(curator, sent.id)
    with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)):
        async with UnitOfWork() as uow:
            await homework_service.pregrade(uow.session, sent.id)
    assert (await submission(curator, sent.id)).ai_graded_at == before.ai_graded_at


async def test_agreement_on_a_hand_computed_example(course):
    rubric = [
        {"key": "a", "title": "A", "points": 4, "concepts": ["stop loss"]},
        {"key": "b", "title": "B", "points": 2, "concepts": ["position size"]},
    ]
    assignment = await make_assignment(course, rubric=rubric)
    curator = await make_curator(course.id)
    rows = []
    for text in ("I set a stop loss and pick the position size carefully.", "I set a stop loss every time."):
        rows.append(await submit_text(await enrolled(course), assignment.id, text))
    proposals = [await submission(curator, r.id) for r in rows]
    ai = [{s.key: s.points for s in p.ai_scores} for p in proposals]
    # Row 1 confirmed as is; row 2: A one point lower, B as proposed.
    await review(curator, rows[0].id)
    await review(curator, rows[1].id, {"a": ai[1]["a"] - 1, "b": ai[1]["b"]})
    # Not counted: a row still waiting for review.
    await submit_text(await enrolled(course), assignment.id, "I set a stop loss.")

    async with UnitOfWork() as uow:
        result = await homework_service.agreement(uow.session, curator)
    assert result.reviewed == 2
    by_key = {c.key: c for c in result.criteria}
    assert (by_key["a"].n, by_key["a"].exact_rate, by_key["a"].mean_abs_diff) == (2, 0.5, 0.5)
    assert (by_key["b"].n, by_key["b"].exact_rate, by_key["b"].mean_abs_diff) == (2, 1.0, 0.0)
    assert (result.exact_rate, result.mean_abs_diff) == (0.75, 0.25)  # pooled over 4 pairs

    async with UnitOfWork() as uow:
        future = await homework_service.agreement(uow.session, curator, start=datetime(2100, 1, 1))
    assert future.reviewed == 0 and future.exact_rate is None


async def test_curators_see_only_their_courses(course, settings, tmp_path):
    other = await make_course(tmp_path, lessons=1, slug="other-course", title="Other")
    assignment = await make_assignment(course)
    student = await enrolled(course)
    mine = await make_curator(course.id)
    theirs = await make_curator(other.id)
    admin = await make_user(role=Role.admin)
    sent = await submit_text(student, assignment.id, GOOD_RISK_ANSWER)

    with pytest.raises(NotFound):
        await submission(theirs, sent.id)
    with pytest.raises(NotFound):
        await review(theirs, sent.id)
    async with UnitOfWork() as uow:
        s = uow.session
        assert (await homework_service.review_queue(s, theirs, PageParams())).total == 0
        assert await homework_service.pending_review_count(s, theirs) == 0
        assert (await homework_service.review_queue(s, mine, PageParams())).total == 1
        assert (await homework_service.review_queue(s, admin, PageParams())).total == 1
        with pytest.raises(Forbidden):
            await homework_service.review_queue(s, theirs, PageParams(), course_id=course.id)
        with pytest.raises(Forbidden):
            await homework_service.agreement(s, theirs, course_id=course.id)
        item = (await homework_service.review_queue(s, mine, PageParams())).items[0]
    assert item.student_name == student.display_name and item.course_title == course.title
    assert item.assignment.model_answer  # staff see the grader's key


async def test_assignments_are_managed_by_the_course_curators_and_admins(course, settings, tmp_path):
    other = await make_course(tmp_path, lessons=1, slug="other-course", title="Other")
    theirs = await make_curator(other.id)
    data = AssignmentCreate(lesson_id=course.lessons[0], title="Essay", kind="text", rubric=[
        {"key": "a", "title": "A", "points": 2}])  # fmt: skip
    async with UnitOfWork() as uow:
        with pytest.raises(Forbidden):
            await homework_service.create_assignment(uow.session, theirs, data)
    assignment = await make_assignment(course)
    from academy.homework.schemas import AssignmentUpdate

    async with UnitOfWork() as uow:
        with pytest.raises(NotFound):
            await homework_service.update_assignment(
                uow.session, theirs, assignment.id, AssignmentUpdate(title="x")
            )
    mine = await make_curator(course.id)
    async with UnitOfWork() as uow:
        updated = await homework_service.update_assignment(
            uow.session, mine, assignment.id, AssignmentUpdate(title="Risk essay", due_days=5)
        )
    assert updated.title == "Risk essay" and updated.due_days == 5 and updated.max_points == 10


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "text"}, "needs a rubric"),
        ({"kind": "file"}, "needs file_types"),
        ({"kind": "quiz"}, "needs a quiz of the same course"),
        ({"kind": "text", "file_types": ["pdf"], "rubric": [{"key": "a", "title": "A", "points": 1}]},
         "Only a file assignment"),
    ],
)  # fmt: skip
async def test_assignment_validation(course, fields, message):
    admin = await make_user(role=Role.admin)
    async with UnitOfWork() as uow:
        with pytest.raises(Unprocessable, match=message):
            await homework_service.create_assignment(
                uow.session, admin, AssignmentCreate(lesson_id=course.lessons[0], title="T", **fields)
            )


def test_criteria_keys_must_be_unique_and_points_positive():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unique"):
        AssignmentCreate(lesson_id=1, title="T", kind="text", rubric=[
            {"key": "a", "title": "A", "points": 1}, {"key": "a", "title": "B", "points": 1}])  # fmt: skip
    with pytest.raises(ValidationError):
        AssignmentCreate(
            lesson_id=1, title="T", kind="text", rubric=[{"key": "a", "title": "A", "points": 0}]
        )


async def test_a_quiz_assignment_is_final_at_once(course):
    assignment = await make_assignment(course, kind="quiz", pass_pct=80)
    assert assignment.max_points == 100
    student = await enrolled(course)
    quiz = course.quiz(0)
    failed = await submit_quiz(student, assignment.id, wrong_answers(quiz, wrong=2))
    assert failed.status == "final" and failed.review == "auto"
    assert failed.final_total == 60 and failed.passed is False
    assert "3 of 5" in (failed.final_feedback or "")
    passed = await submit_quiz(student, assignment.id, right_answers(quiz))
    assert passed.final_total == 100 and passed.passed and passed.attempt == 2
    note = await latest_notification(student)
    assert note.link == f"/homework/{assignment.id}" and "100 of 100" in note.title
    with pytest.raises(Conflict):
        await submit_quiz(student, assignment.id, right_answers(quiz))
    with pytest.raises(Unprocessable):
        await submit_text(student, assignment.id, "text for a quiz")
    # A quiz grades itself: there is nothing left for a curator to review.
    admin = await make_user(role=Role.admin)
    async with UnitOfWork() as uow:
        with pytest.raises(Conflict):
            await homework_service.review(
                uow.session, admin, passed.id, ReviewCreate(scores=[ScoreEdit(key="quiz", points=1)])
            )


@pytest.fixture
async def chat_server():
    from tests.integrations.llm.server import ChatServer

    chat = ChatServer()
    await chat.start()
    yield chat
    await chat.stop()


async def test_pregrade_asks_the_configured_model_and_records_the_grader(course, monkeypatch, chat_server):
    import json

    from tests.fixtures.db import reconfigure
    from tests.integrations.llm.server import Behaviour

    reconfigure(monkeypatch, llm_base_url=chat_server.base_url, llm_model="grader-model", llm_timeout="3")
    assignment = await make_assignment(course)
    curator = await make_curator(course.id)
    answer = {"scores": [{"key": k, "points": p, "feedback": f"{k} ok"} for k, p in
                         (("stop", 3.7), ("risk", 9), ("size", -1))], "summary": "Solid."}  # fmt: skip
    chat_server.behaviour = Behaviour(pieces=[json.dumps(answer)])
    sent = await submit_text(await enrolled(course), assignment.id, GOOD_RISK_ANSWER)
    proposal = await submission(curator, sent.id)
    assert proposal.ai_grader == "openai:grader-model"
    assert [s.points for s in proposal.ai_scores] == [3.5, 4.0, 0.0] and proposal.ai_total == 7.5

    chat_server.behaviour = Behaviour(pieces=["not json at all"])
    sent = await submit_text(await enrolled(course), assignment.id, GOOD_RISK_ANSWER)
    fallback = await submission(curator, sent.id)
    assert fallback.ai_grader == "rubric" and fallback.status == "proposed"
    assert all(s.feedback for s in fallback.ai_scores)


async def test_a_quiz_of_another_course_cannot_back_an_assignment(course, tmp_path):
    other = await make_course(tmp_path, lessons=1, slug="other-course", title="Other")
    with pytest.raises(Unprocessable, match="quiz of the same course"):
        await make_assignment(course, kind="quiz", quiz_id=other.quiz(0).id)
    # A quiz in a lesson that is still a draft is still the course's own.
    drafts = await make_course(tmp_path, lessons=2, slug="drafts", unpublished_lessons=[1])
    assert (await make_assignment(drafts, kind="quiz", lesson=1)).quiz_id == drafts.quiz(1).id


async def test_open_written_homework_for_the_coach(course):
    text = await make_assignment(course, title="Risk essay")
    await make_assignment(course, kind="quiz")
    await make_assignment(course, published=False)
    student = await enrolled(course)
    outsider = await make_user()
    async with UnitOfWork() as uow:
        items = await homework_service.open_graded_items(uow.session, student)
        assert await homework_service.open_graded_items(uow.session, outsider) == []
    assert [(i.assignment_id, i.lesson_id) for i in items] == [(text.id, course.lessons[0])]
    assert items[0].prompt.startswith("Risk essay. Explain how you limit the risk")
    sent = await submit_text(student, text.id, GOOD_RISK_ANSWER)
    await review(await make_curator(course.id), sent.id, {"stop": 4, "risk": 4, "size": 2})
    async with UnitOfWork() as uow:
        assert await homework_service.open_graded_items(uow.session, student) == []
