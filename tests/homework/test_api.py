"""The homework JSON API end to end: a curator sets work, a student submits, the curator reviews."""

import pytest

from academy.models import Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.homework import GOOD_RISK_ANSWER, RISK_RUBRIC, make_assignment, make_curator, tiny_pdf
from tests.fixtures.learning import enroll, make_course, right_answers


@pytest.fixture
async def course(settings, tmp_path):
    return await make_course(tmp_path, lessons=2)


async def test_the_whole_journey(course, client):
    curator = await make_curator(course.id)
    staff = await api_login(client, curator.email)
    r = await client.post(
        "/api/v1/assignments",
        headers=staff,
        json={
            "lesson_id": course.lessons[0],
            "title": "Risk of one trade",
            "kind": "text",
            "instructions": "Explain how you limit the risk of one trade.",
            "rubric": RISK_RUBRIC,
            "model_answer": "Stop loss below the swing low, 1 % of the account, size from the stop distance.",
            "due_days": 7,
        },
    )
    assert r.status_code == 201, r.text
    assignment = r.json()
    assert assignment["course_id"] == course.id and assignment["max_points"] == 10

    student = await make_user()
    await enroll(student, course.id)
    me = await api_login(client, student.email)
    seen = (await client.get(f"/api/v1/assignments/{assignment['id']}", headers=me)).json()
    assert seen["model_answer"] == "" and seen["rubric"][0]["key"] == "stop"
    status = (await client.get(f"/api/v1/assignments/{assignment['id']}/status", headers=me)).json()
    assert status["state"] == "open" and status["can_submit"] and status["due_at"]
    listed = (
        await client.get("/api/v1/assignments", params={"lesson_id": course.lessons[0]}, headers=me)
    ).json()
    assert [a["id"] for a in listed] == [assignment["id"]]

    url = f"/api/v1/assignments/{assignment['id']}/submissions"
    assert (await client.post(url, headers=me, json={"text": "  "})).status_code == 422
    r = await client.post(url, headers=me, json={"text": GOOD_RISK_ANSWER})
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["status"] == "submitted" and sent["ai_total"] is None

    queue = (await client.get("/api/v1/homework/review-queue", headers=staff)).json()
    assert [i["submission"]["id"] for i in queue["items"]] == [sent["id"]]
    item = queue["items"][0]
    assert item["submission"]["status"] == "proposed" and item["submission"]["ai_grader"] == "rubric"
    assert item["student_name"] == student.display_name
    mine = (await client.get(f"/api/v1/submissions/{sent['id']}", headers=me)).json()
    assert mine["status"] == "proposed" and mine["ai_scores"] is None

    bad = await client.post(
        f"/api/v1/submissions/{sent['id']}/review", headers=staff,
        json={"scores": [{"key": "stop", "points": 9}]},
    )  # fmt: skip
    assert bad.status_code == 422 and "no score for" in bad.json()["detail"]
    r = await client.post(f"/api/v1/submissions/{sent['id']}/review", headers=staff, json={})
    assert r.status_code == 200 and r.json()["review"] == "confirmed"
    again = await client.post(f"/api/v1/submissions/{sent['id']}/review", headers=staff, json={})
    assert again.status_code == 409

    agreement = (await client.get("/api/v1/homework/agreement", headers=staff)).json()
    assert agreement["reviewed"] == 1 and agreement["exact_rate"] == 1.0
    assert (await client.get("/api/v1/homework/review-queue", headers=staff)).json()["total"] == 0
    own = (await client.get(url, headers=me)).json()
    assert own["total"] == 1 and own["items"][0]["final_total"] == own["items"][0]["ai_total"]

    r = await client.patch(f"/api/v1/assignments/{assignment['id']}", headers=staff, json={"due_days": None})
    assert r.status_code == 200 and r.json()["due_days"] is None


async def test_files_and_quizzes_over_http(course, client):
    pdf_only = await make_assignment(course, kind="file", file_types=["pdf"])
    quiz = await make_assignment(course, kind="quiz")
    student = await make_user()
    await enroll(student, course.id)
    me = await api_login(client, student.email)
    r = await client.post(
        f"/api/v1/assignments/{pdf_only.id}/submissions", headers=me,
        files={"file": ("answer.png", tiny_pdf(), "image/png")},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["file_type"] == "pdf" and r.json()["file_name"] == "answer.pdf"
    file = await client.get(f"/api/v1/submissions/{r.json()['id']}/file", headers=me)
    assert file.status_code == 200 and file.headers["content-type"] == "application/pdf"
    assert file.content == tiny_pdf()

    r = await client.post(
        f"/api/v1/assignments/{quiz.id}/submissions",
        headers=me,
        json={"answers": right_answers(course.quiz(0))},
    )
    assert r.status_code == 201 and r.json()["status"] == "final" and r.json()["passed"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ({"content": b"\xff", "headers": {"content-type": "application/json"}}, 422),
        ({"content": b"[1, 2]", "headers": {"content-type": "application/json"}}, 422),
        ({"json": {"text": 5}}, 422),
        ({"json": {"answers": {"x": 1}}}, 422),
        ({"content": b"text=hello", "headers": {"content-type": "application/x-www-form-urlencoded"}}, 422),
        ({"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 422),
        ({"data": {"text": "no file"}, "files": {"other": ("a.txt", b"hi")}}, 422),
    ],
)
async def test_malformed_submissions_are_4xx(course, client, kwargs, status):
    text = await make_assignment(course)
    quiz = await make_assignment(course, kind="quiz")
    student = await make_user()
    await enroll(student, course.id)
    me = await api_login(client, student.email)
    headers = {**me, **kwargs.pop("headers", {})}
    target = quiz.id if "answers" in str(kwargs.get("json")) else text.id
    r = await client.post(f"/api/v1/assignments/{target}/submissions", headers=headers, **kwargs)
    assert r.status_code == status, r.text


async def test_students_cannot_manage_or_review(course, client):
    assignment = await make_assignment(course)
    student = await make_user()
    me = await api_login(client, student.email)
    assert (await client.post("/api/v1/assignments", headers=me, json={})).status_code == 403
    assert (await client.get("/api/v1/homework/review-queue", headers=me)).status_code == 403
    r = await client.post(
        f"/api/v1/assignments/{assignment.id}/submissions", headers=me, json={"text": "x y z"}
    )
    assert r.status_code == 403  # not enrolled
    other_curator = await make_user(role=Role.curator)
    them = await api_login(client, other_curator.email)
    r = await client.get("/api/v1/homework/review-queue", headers=them, params={"course_id": course.id})
    assert r.status_code == 403
    r = await client.patch(f"/api/v1/assignments/{assignment.id}", headers=them, json={"title": "Mine now"})
    assert r.status_code == 404


async def test_a_deadline_without_a_zone_is_read_as_utc(course, client):
    admin = await make_user(role=Role.admin)
    r = await client.post(
        "/api/v1/assignments",
        headers=await api_login(client, admin.email),
        json={"lesson_id": course.lessons[1], "title": "Chart", "kind": "file", "file_types": ["png", "jpeg"],
              "due_at": "2026-04-01T12:00:00"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["due_at"] in ("2026-04-01T12:00:00Z", "2026-04-01T12:00:00+00:00")
    bad = await client.post(
        "/api/v1/assignments",
        headers=await api_login(client, admin.email),
        json={"lesson_id": course.lessons[1], "title": "Chart", "kind": "file", "file_types": ["exe"]},
    )
    assert bad.status_code == 422
