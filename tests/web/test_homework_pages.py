"""The homework pages over HTTP with cookie sessions: a student's list, assignment page and submissions
(text and file), the curators' review queue, review page and assignment editor, and who may see what.
Jobs run inline, so a submission is pre-graded by the embedded rubric grader as soon as it commits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from academy.enrollment.service import enrollment_service
from academy.homework.service import homework_service
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.web.homework import waited
from tests.fixtures.app import make_user, page_login
from tests.fixtures.homework import GOOD_RISK_ANSWER, make_assignment, make_curator, submit_text, tiny_png
from tests.fixtures.learning import CourseRef, enroll, make_course, right_answers, set_timezone

HX = {"HX-Request": "true", "HX-Target": "review-results"}


async def signed_in(client: httpx.AsyncClient, user: User) -> str:
    """Sign in through the login page; returns the CSRF token forms carry."""
    await page_login(client, user.email or "")
    return client.cookies["academy_csrf"]


@pytest.fixture
async def course(settings, tmp_path) -> CourseRef:
    return await make_course(tmp_path, slug="risk-course", title="Risk Course", lessons=2)


@pytest.fixture
async def other(settings, tmp_path) -> CourseRef:
    return await make_course(tmp_path, slug="other-course", title="Other Course", lessons=1)


async def student_of(course: CourseRef, name: str = "Sam Student", tz: str | None = None) -> User:
    student = await make_user(name=name)
    await enroll(student, course.id)
    if tz:
        await set_timezone(student, tz)
    return student


async def staff_view(submission_id: int):
    """The submission as an admin sees it, AI proposal included."""
    admin = await make_user(role=Role.admin)
    async with UnitOfWork() as uow:
        return await homework_service.submission(uow.session, admin, submission_id)


def submission_id_from(page: str) -> int:
    match = re.search(r"/homework/submissions/(\d+)/file", page)
    assert match, "no file link on the page"
    return int(match.group(1))


def test_waiting_time_reads_like_people_say_it():
    assert waited(0.2) == "12 min"
    assert waited(3.4) == "3 h"
    assert waited(47.9) == "47 h"
    assert waited(50) == "2 days"


async def test_my_homework_shows_due_dates_in_the_students_time_zone(client, new_client, course):
    student = await student_of(course, tz="Asia/Tokyo")
    await make_assignment(course, title="Risk plan", due_at=datetime(2030, 3, 1, 12, 0, tzinfo=UTC))
    await make_assignment(course, title="Old one", due_at=datetime(2020, 1, 1, tzinfo=UTC), lesson=1)

    await signed_in(client, student)
    page = await client.get("/homework")
    assert page.status_code == 200
    assert 'data-testid="nav-homework"' in page.text and "Risk Course" in page.text
    assert "Risk plan" in page.text and "01 Mar 2030 21:00" in page.text  # 12:00 UTC is 21:00 in Tokyo
    assert "Asia/Tokyo" in page.text
    assert page.text.count('data-state="open"') == 1 and 'data-state="overdue"' in page.text
    assert "3 attempts left" in page.text

    lesson = await client.get(f"/lessons/{course.lessons[0]}")
    assert 'data-testid="lesson-homework"' in lesson.text and "Risk plan" in lesson.text
    assert "01 Mar 2030 21:00" in lesson.text

    stranger = new_client()
    await signed_in(stranger, await make_user())
    empty = await stranger.get("/homework")
    assert empty.status_code == 200 and 'data-testid="homework-empty"' in empty.text
    assert "No homework yet" in empty.text and "Risk plan" not in empty.text


async def test_a_text_answer_is_submitted_and_shown_as_being_reviewed_without_ai_scores(client, course):
    student = await student_of(course)
    assignment = await make_assignment(course, title="Risk plan", late_policy="penalty", late_penalty_pct=10)
    token = await signed_in(client, student)

    page = await client.get(f"/homework/{assignment.id}")
    assert page.status_code == 200
    assert 'data-testid="instructions"' in page.text and "Explain how you limit the risk" in page.text
    assert 'data-testid="rubric"' in page.text and "Stop loss" in page.text and "Position size" in page.text
    assert "Late work loses 10 % per day" in page.text
    assert 'data-count="hw-count"' in page.text and "0 of 3 used" in page.text
    assert RISK_MODEL_ANSWER_START not in page.text  # the model answer is the grader's

    sent = await client.post(
        f"/homework/{assignment.id}", data={"text": GOOD_RISK_ANSWER, "csrf_token": token}
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/homework/{assignment.id}?submitted=1"
    after = await client.get(sent.headers["location"])
    assert "Submitted — being reviewed" in after.text
    assert 'data-state="proposed"' in after.text and "1 of 3 used" in after.text
    assert after.text.count('data-testid="history-row"') == 1

    # The grader has proposed a grade, and the page shows none of it.
    async with UnitOfWork() as uow:
        admin = await make_user(role=Role.admin)
        queue = await homework_service.review_queue(uow.session, admin, PageParams(), course_id=course.id)
    proposal = queue.items[0].submission
    assert proposal.status == "proposed" and proposal.ai_scores and proposal.ai_feedback
    assert proposal.ai_feedback not in after.text and 'data-testid="grader"' not in after.text
    assert "AI-proposed" not in after.text and 'data-testid="final-grade"' not in after.text
    for score in proposal.ai_scores:
        assert score.feedback not in after.text


RISK_MODEL_ANSWER_START = "I place a stop loss just below the last swing low"


async def test_files_upload_and_a_refused_one_is_explained_in_the_form(client, new_client, course):
    student = await student_of(course)
    assignment = await make_assignment(course, kind="file", title="Chart", file_types=["png", "pdf"])
    token = await signed_in(client, student)
    page = await client.get(f"/homework/{assignment.id}")
    assert 'enctype="multipart/form-data"' in page.text and 'accept=".png,.pdf"' in page.text
    assert "PNG, PDF" in page.text and "5 MB" in page.text

    program = b"MZ\x90\x00" + b"\x00" * 64
    bad = await client.post(
        f"/homework/{assignment.id}",
        data={"csrf_token": token},
        files={"file": ("chart.png", program, "image/png")},
    )
    assert bad.status_code == 422
    assert 'data-testid="file-error"' in bad.text and "a program (executable)" in bad.text
    assert "0 of 3 used" in bad.text  # nothing was kept

    missing = await client.post(f"/homework/{assignment.id}", data={"csrf_token": token})
    assert missing.status_code == 422 and "Choose a file to upload" in missing.text

    png = tiny_png()
    good = await client.post(
        f"/homework/{assignment.id}",
        data={"csrf_token": token},
        files={"file": ("my chart.png", png, "image/png")},
    )
    assert good.status_code == 303
    after = await client.get(good.headers["location"])
    assert "1 of 3 used" in after.text and "my chart.png" in after.text
    file_id = submission_id_from(after.text)
    download = await client.get(f"/homework/submissions/{file_id}/file")
    assert download.status_code == 200 and download.content == png
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("inline;")
    assert download.headers["x-content-type-options"] == "nosniff"

    intruder = new_client()
    await signed_in(intruder, await student_of(course, name="Nosy"))
    assert (await intruder.get(f"/homework/submissions/{file_id}/file")).status_code == 404


async def test_a_refused_text_answer_keeps_what_was_typed(client, course):
    student = await student_of(course)
    assignment = await make_assignment(course, title="Risk plan")
    token = await signed_in(client, student)
    essay = "My stop goes below the swing low. " * 700  # past the 20,000 character limit
    refused = await client.post(f"/homework/{assignment.id}", data={"text": essay, "csrf_token": token})
    assert refused.status_code == 422
    assert "the limit is 20,000" in refused.text and "is-invalid" in refused.text
    textarea = re.search(r'<textarea[^>]*name="text"[^>]*>(.*?)</textarea>', refused.text, re.S)
    assert textarea and textarea.group(1) == essay
    assert "0 of 3 used" in refused.text
    no_token = await client.post(f"/homework/{assignment.id}", data={"text": "Short answer"})
    assert no_token.status_code == 403


async def test_curators_filter_the_queue_review_and_the_student_sees_the_grade(
    client, new_client, course, other
):
    curator = await make_curator(course.id, name="Cory Curator")
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, curator, other.id)
    here = await make_assignment(course, title="Risk plan")
    there = await make_assignment(other, title="Elsewhere task")
    ann = await student_of(course, name="Ann Able")
    bob = await student_of(other, name="Bob Other")
    mine = await submit_text(ann, here.id, GOOD_RISK_ANSWER)
    await submit_text(bob, there.id, "I risk one percent of the account and use a stop loss.")

    token = await signed_in(client, curator)
    queue = await client.get("/curator/reviews")
    assert queue.status_code == 200 and 'data-testid="nav-reviews"' in queue.text
    assert "Ann Able" in queue.text and "Bob Other" in queue.text
    assert queue.text.count('data-testid="review-row"') == 2 and 'data-testid="agreement-empty"' in queue.text
    assert 'hx-get="/curator/reviews"' in queue.text and 'hx-push-url="true"' in queue.text

    fragment = await client.get(f"/curator/reviews?status=proposed&course={course.id}", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="review-results"')
    assert "Ann Able" in fragment.text and "Bob Other" not in fragment.text

    badge = await client.get("/curator/reviews/badge")
    assert 'data-count="2"' in badge.text

    review = await client.get(f"/curator/reviews/{mine.id}?course={course.id}&status=proposed")
    assert review.status_code == 200
    assert GOOD_RISK_ANSWER in review.text and 'data-testid="ai-badge"' in review.text
    proposal = await staff_view(mine.id)
    assert proposal.ai_grader and proposal.ai_grader in review.text
    assert review.text.count('data-testid="ai-criterion"') == 3
    assert 'name="points-stop"' in review.text and 'step="0.5"' in review.text and 'max="4.0"' in review.text

    confirmed = await client.post(
        f"/curator/reviews/{mine.id}/confirm",
        data={"csrf_token": token, "course": str(course.id), "status": "proposed"},
    )
    assert confirmed.status_code == 303
    # Nothing else waits in this course, so the curator goes back to the filtered queue.
    assert (
        confirmed.headers["location"]
        == f"/curator/reviews?status=proposed&course={course.id}&reviewed={mine.id}"
    )
    back = await client.get(confirmed.headers["location"])
    assert 'data-testid="toast"' in back.text and 'data-testid="review-empty"' in back.text
    assert 'data-testid="agreement-exact"' in back.text and "100 %" in back.text
    assert 'data-count="1"' in (await client.get("/curator/reviews/badge")).text

    final = await client.get(f"/curator/reviews/{mine.id}")
    assert 'data-testid="final-grade"' in final.text and 'data-testid="override-form"' not in final.text
    assert "Reviewed by Cory Curator" in final.text and "AI proposal confirmed" in final.text

    student = new_client()
    await signed_in(student, ann)
    graded = await student.get(f"/homework/{here.id}")
    assert 'data-state="final"' in graded.text and 'data-testid="final-grade"' in graded.text
    total = f"{proposal.ai_total:g} / 10"
    assert total in graded.text
    assert graded.text.count('data-testid="criterion"') == 3
    for score in proposal.ai_scores or []:
        assert score.feedback in graded.text
    listing = await student.get("/homework")
    assert "Graded" in listing.text


async def test_a_curator_overrides_the_points_and_bad_points_stay_in_the_form(client, new_client, course):
    curator = await make_curator(course.id, name="Cory Curator")
    assignment = await make_assignment(course, title="Risk plan")
    ann = await student_of(course, name="Ann Able")
    first = await submit_text(ann, assignment.id, GOOD_RISK_ANSWER)
    second_student = await student_of(course, name="Ben Second")
    second = await submit_text(second_student, assignment.id, GOOD_RISK_ANSWER)
    token = await signed_in(client, curator)

    form = {
        "csrf_token": token,
        "status": "proposed",
        "points-stop": "9",
        "feedback-stop": "Where exactly?",
        "points-risk": "3.5",
        "points-size": "1",
        "comment": "Name the swing low next time.",
    }
    wrong = await client.post(f"/curator/reviews/{first.id}", data=form)
    assert wrong.status_code == 422
    assert 'data-testid="error-points-stop"' in wrong.text and "Between 0 and 4" in wrong.text
    assert 'value="9"' in wrong.text and "Where exactly?" in wrong.text and "Name the swing low" in wrong.text

    saved = await client.post(f"/curator/reviews/{first.id}", data=form | {"points-stop": "2.5"})
    assert saved.status_code == 303
    # The next submission waiting in the queue opens straight away.
    assert saved.headers["location"].startswith(f"/curator/reviews/{second.id}?status=proposed")
    nxt = await client.get(saved.headers["location"])
    assert 'data-testid="toast"' in nxt.text and "Ben Second" in nxt.text

    again = await client.post(f"/curator/reviews/{first.id}/confirm", data={"csrf_token": token})
    assert again.status_code == 409 and "already has a final grade" in again.text

    student = new_client()
    await signed_in(student, ann)
    graded = await student.get(f"/homework/{assignment.id}")
    assert 'data-testid="final-total">7 / 10' in graded.text  # 2.5 + 3.5 + 1
    assert "Where exactly?" in graded.text and "Name the swing low next time." in graded.text
    assert 'data-testid="passed"' in graded.text  # 70 % against a pass mark of 60 %

    final = await client.get(f"/curator/reviews/{first.id}")
    assert "AI proposal changed" in final.text and "Reviewed by Cory Curator" in final.text


async def test_curators_see_only_their_courses_and_students_none_of_it(client, new_client, course, other):
    assignment = await make_assignment(course, kind="file", file_types=["png"])
    ann = await student_of(course, name="Ann Able")
    async with UnitOfWork() as uow:
        from academy.homework.schemas import Upload

        sent = await homework_service.submit(
            uow.session, ann, assignment.id, upload=Upload("a.png", tiny_png())
        )
    outsider = await make_curator(other.id, name="Olga Outsider")
    await signed_in(client, outsider)
    missing = await client.get(f"/curator/reviews/{sent.id}")
    assert missing.status_code == 404
    assert "<html" in missing.text and "Submission not found" in missing.text  # inside the layout
    assert (await client.get(f"/homework/submissions/{sent.id}/file")).status_code == 404
    assert (await client.get(f"/curator/assignments/{assignment.id}/edit")).status_code == 404
    assert (await client.get(f"/curator/reviews?course={course.id}")).status_code == 403
    queue = await client.get("/curator/reviews?status=all")
    assert "Ann Able" not in queue.text and 'data-testid="review-empty"' in queue.text

    student = new_client()
    token = await signed_in(student, ann)
    for path in (
        "/curator/reviews",
        "/curator/assignments",
        "/curator/assignments/new",
        f"/curator/reviews/{sent.id}",
    ):
        assert (await student.get(path)).status_code == 403, path
    confirm = await student.post(f"/curator/reviews/{sent.id}/confirm", data={"csrf_token": token})
    assert confirm.status_code == 403
    page = await student.get("/homework")
    assert 'data-testid="nav-reviews"' not in page.text


def rubric_row(i: int, key: str, title: str, points: str, concepts: str = "") -> dict[str, str]:
    return {
        f"rubric-{i}-key": key,
        f"rubric-{i}-title": title,
        f"rubric-{i}-points": points,
        f"rubric-{i}-description": f"What earns the {title.lower()} points." if title else "",
        f"rubric-{i}-concepts": concepts,
    }


async def test_the_assignment_editor_creates_edits_and_rejects_repeated_keys(
    client, new_client, course, other
):
    curator = await make_curator(course.id)
    token = await signed_in(client, curator)
    await set_timezone(curator, "Europe/Moscow")
    empty = await client.get("/curator/assignments")
    assert empty.status_code == 200 and 'data-testid="assignments-empty"' in empty.text

    blank = await client.get("/curator/assignments/new")
    assert blank.status_code == 200
    assert f'<option value="{course.lessons[1]}"' in blank.text and "Other Course" not in blank.text
    assert blank.text.count("data-rubric-row") >= 4  # rows to fill without JavaScript

    form = {
        "csrf_token": token,
        "lesson_id": str(course.lessons[1]),
        "title": "Plan a trade",
        "kind": "text",
        "instructions": "Describe **your** plan.",
        "model_answer": "Stop below the low, risk 1 %.",
        "due_mode": "at",
        "due_at": "2030-05-01T18:00",
        "late_policy": "penalty",
        "late_penalty_pct": "20",
        "max_attempts": "2",
        "pass_pct": "50",
        "published": "on",
        **rubric_row(0, "stop", "Stop loss", "4", "stop loss, swing low"),
        **rubric_row(1, "risk", "Risk", "6", "1 %"),
        **rubric_row(2, "", "", ""),
    }
    repeated = await client.post("/curator/assignments/new", data=form | rubric_row(1, "stop", "Risk", "6"))
    assert repeated.status_code == 422
    assert 'data-testid="error-rubric"' in repeated.text and "repeated: stop" in repeated.text, re.findall(
        r"(?:invalid-feedback|form-error)[^>]*>([^<]*)<", repeated.text
    )
    assert 'value="Plan a trade"' in repeated.text and "Describe **your** plan." in repeated.text

    created = await client.post("/curator/assignments/new", data=form)
    assert created.status_code == 303, created.text
    async with UnitOfWork() as uow:
        made = await homework_service.assignments(uow.session, curator, course_id=course.id)
    assert [a.title for a in made] == ["Plan a trade"]
    assignment = made[0]
    assert [(c.key, c.points, c.concepts) for c in assignment.rubric] == [
        ("stop", 4, ["stop loss", "swing low"]),
        ("risk", 6, ["1 %"]),
    ]
    assert assignment.due_at == datetime(2030, 5, 1, 15, 0, tzinfo=UTC)  # 18:00 in Moscow
    assert (assignment.late_policy, assignment.late_penalty_pct, assignment.max_attempts) == (
        "penalty",
        20,
        2,
    )

    listing = await client.get(created.headers["location"])
    assert 'data-testid="saved"' in listing.text and "Plan a trade" in listing.text
    assert "01 May 2030 18:00" in listing.text

    edit = await client.get(f"/curator/assignments/{assignment.id}/edit")
    assert edit.status_code == 200 and 'value="2030-05-01T18:00"' in edit.text and 'value="stop"' in edit.text
    changed = await client.post(
        f"/curator/assignments/{assignment.id}/edit",
        data=form
        | {"title": "Plan a trade, v2", "due_mode": "days", "due_days": "7"}
        | rubric_row(1, "", "", ""),
    )
    assert changed.status_code == 303, changed.text
    async with UnitOfWork() as uow:
        assignment = (await homework_service.assignments(uow.session, curator, course_id=course.id))[0]
    assert assignment.title == "Plan a trade, v2" and assignment.due_days == 7 and assignment.due_at is None
    assert [c.key for c in assignment.rubric] == ["stop"]

    invalid = await client.post(
        f"/curator/assignments/{assignment.id}/edit", data=form | {"title": "", "max_attempts": "0"}
    )
    assert invalid.status_code == 422
    assert 'data-testid="error-title"' in invalid.text and 'data-testid="error-max_attempts"' in invalid.text

    quiz_form = {k: v for k, v in form.items() if not k.startswith("rubric-")}
    quiz = await client.post(
        "/curator/assignments/new",
        data=quiz_form | {"kind": "quiz", "title": "Quiz homework", "lesson_id": str(course.lessons[0])},
    )
    assert quiz.status_code == 303, quiz.text
    async with UnitOfWork() as uow:
        made = await homework_service.assignments(uow.session, curator, lesson_id=course.lessons[0])
    assert [(a.title, a.quiz_id) for a in made] == [("Quiz homework", course.quiz(0).id)]  # the lesson's quiz

    outsider = new_client()
    outsider_token = await signed_in(outsider, await make_curator(other.id))
    refused = await outsider.post("/curator/assignments/new", data=form | {"csrf_token": outsider_token})
    # The picker offers only the curator's own lessons; a crafted request is refused outright.
    assert refused.status_code == 403 and "curators and admins can add homework" in refused.text


async def test_a_quiz_homework_is_answered_on_its_page_and_scores_itself(client, course):
    student = await student_of(course)
    assignment = await make_assignment(course, kind="quiz", title="Check yourself")
    token = await signed_in(client, student)
    page = await client.get(f"/homework/{assignment.id}")
    assert page.text.count('data-testid="question"') == 5
    answers = {
        f"q{k}": [str(i) for i in v] if isinstance(v, list) else str(v)
        for k, v in right_answers(course.quiz(0)).items()
    }
    sent = await client.post(f"/homework/{assignment.id}", data=answers | {"csrf_token": token})
    assert sent.status_code == 303
    graded = await client.get(f"/homework/{assignment.id}")
    assert 'data-testid="final-total">100 / 100' in graded.text and 'data-testid="passed"' in graded.text
    assert "5 of 5 questions right." in graded.text
    assert 'data-testid="submit-form"' not in graded.text  # passed: nothing more to send
    assert "This homework is graded and passed." in graded.text


async def test_the_filter_form_sends_an_empty_course_for_all_courses(client, course):
    curator = await make_curator(course.id)
    await signed_in(client, curator)
    everything = await client.get("/curator/reviews?status=all&course=", headers=HX)
    assert everything.status_code == 200 and 'data-testid="review-empty"' in everything.text
