"""Quizzes through the API: grading of every question kind, malformed input, feedback and privacy.

The standard quiz (tests/fixtures/learning.py): 0 single (answer 0 of 3), 1 multiple (0 and 2 of 4),
2 numeric 1000 ± 0.5 USD, 3 numeric 2.5 exactly, 4 text "stop-loss" / "stop loss"; pass mark 80 %.
"""

import json

import pytest

from academy.enrollment.service import enrollment_service
from academy.kit.uow import UnitOfWork
from academy.models import Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import make_course, right_answers, wrong_answers


@pytest.fixture
async def setup(client, tmp_path):
    course = await make_course(tmp_path, lessons=1)
    student = await make_user()
    headers = await api_login(client, student.email)
    r = await client.post("/api/v1/enrollments", headers=headers, json={"course_id": course.id})
    assert r.status_code == 201
    return course, course.quiz(0), student, headers


async def _submit(client, headers, quiz, answers):
    return await client.post(
        f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers, json={"answers": answers}
    )


async def _attempts(client, headers, quiz, **params):
    r = await client.get(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers, params=params)
    return r


@pytest.mark.parametrize(
    ("position", "given", "correct", "recorded"),
    [
        (0, 0, True, 0),
        (0, 2, False, 2),
        (1, [0, 2], True, [0, 2]),
        (1, [2, 0], True, [0, 2]),
        (1, [0], False, [0]),
        (1, [0, 1, 2], False, [0, 1, 2]),
        (2, 1000, True, 1000),
        (2, 1000.4, True, 1000.4),
        (2, 999.4, False, 999.4),
        (2, "1,000", True, 1000),
        (2, "1 000", True, 1000),
        (2, "10,00", False, 10),
        (3, "2,5", True, 2.5),
        (3, "2.5", True, 2.5),
        (3, 2.51, False, 2.51),
        (4, "Stop-Loss", True, "Stop-Loss"),
        (4, "  STOP    loss ", True, "STOP    loss"),
        (4, "stoploss", False, "stoploss"),
        (4, "take profit", False, "take profit"),
    ],
)
async def test_each_question_kind_is_graded(client, setup, position, given, correct, recorded):
    _, quiz, _, headers = setup
    answers = right_answers(quiz)
    question = quiz.question(position)
    answers[str(question.id)] = given
    r = await _submit(client, headers, quiz, answers)
    assert r.status_code == 201, r.text
    body = r.json()
    feedback = {f["question_id"]: f for f in body["feedback"]}
    assert feedback[question.id]["correct"] is correct
    assert feedback[question.id]["given"] == recorded
    others = [f["correct"] for qid, f in feedback.items() if qid != question.id]
    assert others == [True, True, True, True]
    assert (body["correct"], body["total"], body["score"]) == ((5, 5, 100) if correct else (4, 5, 80))


@pytest.mark.parametrize(
    ("change", "problem_at"),
    [
        ("missing", 2),
        ("single-out-of-range", 0),
        ("single-negative", 0),
        ("multiple-out-of-range", 1),
        ("not-a-number", 2),
        ("infinite", 3),
        ("text-not-text", 4),
        ("single-as-bool", 0),
    ],
)
async def test_a_malformed_submission_is_refused_and_nothing_is_recorded(client, setup, change, problem_at):
    _, quiz, _, headers = setup
    answers = right_answers(quiz)
    key = str(quiz.question(problem_at).id)
    if change == "missing":
        del answers[key]
    else:
        answers[key] = {
            "single-out-of-range": 3,
            "single-negative": -1,
            "multiple-out-of-range": [0, 9],
            "not-a-number": "about a thousand",
            "infinite": "inf",
            "text-not-text": 42,
            "single-as-bool": True,
        }[change]
    r = await _submit(client, headers, quiz, answers)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert list(detail["questions"]) == [key], "the problem is pinned to the question"
    await _nothing_recorded(client, headers, quiz)


async def test_unknown_question_ids_and_non_numeric_keys_are_refused(client, setup, tmp_path):
    _, quiz, _, headers = setup
    other = await make_course(tmp_path / "other", slug="other", lessons=1)
    answers = right_answers(quiz) | {str(other.quiz(0).questions[0].id): 0}
    r = await _submit(client, headers, quiz, answers)
    assert r.status_code == 422 and str(other.quiz(0).questions[0].id) in json.dumps(r.json())
    bad_key = await _submit(client, headers, quiz, right_answers(quiz) | {"first": 0})
    assert bad_key.status_code == 422
    not_a_dict = await _submit(client, headers, quiz, [0, 1])
    assert not_a_dict.status_code == 422
    await _nothing_recorded(client, headers, quiz)


async def _nothing_recorded(client, headers, quiz):
    attempts = (await _attempts(client, headers, quiz)).json()
    assert attempts["total"] == 0
    activity = (await client.get("/api/v1/activity", headers=headers, params={"size": 100})).json()
    assert not [e for e in activity["items"] if e["kind"].startswith("quiz_")]
    me = (await client.get("/api/v1/me/gamification", headers=headers)).json()
    assert me["xp"] == 0
    read = (await client.get(f"/api/v1/quizzes/{quiz.id}", headers=headers)).json()
    assert read["best_score"] is None and read["passed"] is False


async def test_feedback_explains_every_question_and_shows_the_right_answer(client, setup):
    _, quiz, _, headers = setup
    r = await _submit(client, headers, quiz, wrong_answers(quiz))
    assert r.status_code == 201
    body = r.json()
    assert (body["score"], body["passed"]) == (0, False)
    feedback = [(f["correct"], f["explanation"], f["correct_answer"]) for f in body["feedback"]]
    assert feedback == [
        (False, "Every trade has a buyer and a seller.", 0),
        (False, "Spread and commission are paid on every trade.", [0, 2]),
        (False, "1 % of 100,000 is 1,000.", 1000),
        (False, "125 / 50 = 2.5.", 2.5),
        (False, "A stop-loss order caps the loss.", "stop-loss"),
    ]


async def test_the_pass_mark_decides_pass_or_fail(client, setup):
    _, quiz, _, headers = setup
    three_right = await _submit(client, headers, quiz, wrong_answers(quiz, wrong=2))
    assert (three_right.json()["score"], three_right.json()["passed"]) == (60, False)
    read = (await client.get(f"/api/v1/quizzes/{quiz.id}", headers=headers)).json()
    assert (read["best_score"], read["passed"], read["pass_mark"]) == (60, False, 80)

    four_right = await _submit(client, headers, quiz, wrong_answers(quiz, wrong=1))
    assert (four_right.json()["score"], four_right.json()["passed"]) == (80, True)
    read = (await client.get(f"/api/v1/quizzes/{quiz.id}", headers=headers)).json()
    assert (read["best_score"], read["passed"]) == (80, True)

    attempts = (await _attempts(client, headers, quiz)).json()
    assert [(a["score"], a["passed"]) for a in attempts["items"]] == [(80, True), (60, False)]


async def test_attempts_are_private_to_the_student_and_their_curators(client, setup):
    course, quiz, student, headers = setup
    assert (await _submit(client, headers, quiz, right_answers(quiz))).status_code == 201
    classmate = await make_user()
    curator, other_curator = await make_user(role=Role.curator), await make_user(role=Role.curator)
    admin = await make_user(role=Role.admin)
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, curator, course.id)

    own = (await _attempts(client, headers, quiz)).json()
    assert own["total"] == 1 and own["items"][0]["user_id"] == student.id
    classmate_headers = await api_login(client, classmate.email)
    snoop = await _attempts(client, classmate_headers, quiz, user_id=student.id)
    assert snoop.status_code == 404
    assert (await _attempts(client, classmate_headers, quiz)).json()["total"] == 0

    curator_headers = await api_login(client, curator.email)
    as_curator = await _attempts(client, curator_headers, quiz, user_id=student.id)
    assert as_curator.status_code == 200
    assert [a["user_id"] for a in as_curator.json()["items"]] == [student.id]
    assert (await _attempts(client, curator_headers, quiz)).json()["total"] == 1
    stranger = await _attempts(client, await api_login(client, other_curator.email), quiz, user_id=student.id)
    assert stranger.status_code == 404
    as_admin = await _attempts(client, await api_login(client, admin.email), quiz, user_id=student.id)
    assert as_admin.status_code == 200 and as_admin.json()["total"] == 1


async def test_reading_a_quiz_never_reveals_the_answers(client, setup):
    _, quiz, _, headers = setup
    before = await client.get(f"/api/v1/quizzes/{quiz.id}", headers=headers)
    assert before.status_code == 200
    await _submit(client, headers, quiz, wrong_answers(quiz, wrong=1))
    after = await client.get(f"/api/v1/quizzes/{quiz.id}", headers=headers)
    for r in (before, after):
        body = r.json()
        assert [q["kind"] for q in body["questions"]] == ["single", "multiple", "numeric", "numeric", "text"]
        assert body["questions"][0]["options"] == ["A seller", "The exchange itself", "Nobody"]
        assert body["questions"][2]["unit"] == "USD"
        keys = set().union(*(q.keys() for q in body["questions"]))
        assert keys.isdisjoint(
            {"answer", "answers", "accepted", "tolerance", "explanation", "correct_answer"}
        )
        text = r.text.casefold()
        for secret in ("stop loss", "buyer and a seller", "caps the loss", "2.5"):
            assert secret not in text
