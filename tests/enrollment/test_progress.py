"""Enrollment and progress as a student, a curator and an admin see them through the API."""

from datetime import UTC, datetime, timedelta

from academy.enrollment.service import enrollment_service
from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import import_course, make_course, right_answers, wrong_answers

T0 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)


def _states(outline):
    return [lesson for module in outline["modules"] for lesson in module["lessons"]]


async def _enroll(client, headers, course_id):
    r = await client.post("/api/v1/enrollments", headers=headers, json={"course_id": course_id})
    assert r.status_code == 201, r.text
    return r.json()


async def _complete(client, headers, lesson_id):
    r = await client.post(f"/api/v1/lessons/{lesson_id}/complete", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _attempt(client, headers, quiz, answers):
    r = await client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers, json={"answers": answers})
    assert r.status_code == 201, r.text
    return r.json()


async def test_enrolling_twice_keeps_one_enrollment(client, tmp_path):
    course = await make_course(tmp_path, lessons=2)
    student = await make_user()
    headers = await api_login(client, student.email)
    first = await _enroll(client, headers, course.id)
    second = await _enroll(client, headers, course.id)
    assert first["id"] == second["id"] and first["lessons_total"] == 2 and first["progress_pct"] == 0
    mine = (await client.get("/api/v1/enrollments", headers=headers)).json()
    assert mine["total"] == 1 and mine["items"][0]["course_title"] == "Test Course"
    assert mine["items"][0]["next_lesson_id"] == course.lessons[0]


async def test_an_unpublished_course_cannot_be_enrolled_in(client, tmp_path):
    course = await make_course(tmp_path, lessons=1, published=False)
    student, admin = await make_user(), await make_user(role=Role.admin)
    headers = await api_login(client, student.email)
    r = await client.post("/api/v1/enrollments", headers=headers, json={"course_id": course.id})
    assert r.status_code == 404, "a draft course does not exist for students"
    r = await client.post(
        "/api/v1/enrollments", headers=await api_login(client, admin.email), json={"course_id": course.id}
    )
    assert r.status_code == 422 and "not published" in r.json()["detail"]
    assert (await client.get("/api/v1/enrollments", headers=headers)).json()["total"] == 0
    missing = await client.post("/api/v1/enrollments", headers=headers, json={"course_id": 987654})
    assert missing.status_code == 404


async def test_a_lesson_is_locked_until_its_prerequisite_is_done(client, tmp_path):
    course = await make_course(tmp_path, lessons=3, quiz=False, prerequisites={2: [0, 1]})
    student = await make_user()
    headers = await api_login(client, student.email)
    await _enroll(client, headers, course.id)

    locked = await client.get(f"/api/v1/lessons/{course.lessons[2]}", headers=headers)
    assert locked.status_code == 403
    assert "Lesson 1" in locked.json()["detail"] and "Lesson 2" in locked.json()["detail"]
    early = await client.post(f"/api/v1/lessons/{course.lessons[2]}/complete", headers=headers)
    assert early.status_code == 403
    outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    assert [(s["status"], s["locked_by"]) for s in _states(outline)] == [
        ("open", []),
        ("open", []),
        ("locked", ["Lesson 1", "Lesson 2"]),
    ]

    await _complete(client, headers, course.lessons[0])
    still = await client.get(f"/api/v1/lessons/{course.lessons[2]}", headers=headers)
    assert still.status_code == 403
    assert "Lesson 2" in still.json()["detail"] and "Lesson 1" not in still.json()["detail"]
    await _complete(client, headers, course.lessons[1])
    opened = await client.get(f"/api/v1/lessons/{course.lessons[2]}", headers=headers)
    assert opened.status_code == 200 and opened.json()["title"] == "Lesson 3"
    outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    assert [s["status"] for s in _states(outline)] == ["done", "done", "open"]


async def test_lessons_and_quizzes_need_an_enrollment(client, tmp_path):
    course = await make_course(tmp_path, lessons=1)
    student = await make_user()
    headers = await api_login(client, student.email)
    lesson = await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=headers)
    assert lesson.status_code == 403 and "Enroll" in lesson.json()["detail"]
    done = await client.post(f"/api/v1/lessons/{course.lessons[0]}/complete", headers=headers)
    assert done.status_code == 403
    quiz = await client.get(f"/api/v1/quizzes/{course.quiz(0).id}", headers=headers)
    assert quiz.status_code == 403
    anonymous = await client.get(f"/api/v1/lessons/{course.lessons[0]}")
    assert anonymous.status_code == 401


async def test_completing_lessons_moves_progress(client, tmp_path):
    course = await make_course(tmp_path, lessons=3, quiz=False)
    student = await make_user()
    headers = await api_login(client, student.email)
    await _enroll(client, headers, course.id)
    seen = []
    for index, lesson_id in enumerate(course.lessons):
        result = await _complete(client, headers, lesson_id)
        assert result["next_lesson_id"] == (course.lessons[index + 1] if index < 2 else None)
        enrollment = (await client.get("/api/v1/enrollments", headers=headers)).json()["items"][0]
        outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
        assert outline["progress_pct"] == enrollment["progress_pct"]
        seen.append((enrollment["lessons_done"], enrollment["progress_pct"]))
    assert seen == [(1, 33), (2, 66), (3, 100)]
    again = await _complete(client, headers, course.lessons[0])
    assert again["xp_gained"] == 0
    enrollment = (await client.get("/api/v1/enrollments", headers=headers)).json()["items"][0]
    assert enrollment["lessons_done"] == 3, "completing twice counts once"


async def test_the_course_completes_only_with_every_lesson_and_every_quiz_passed(client, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=[0])
    quiz = course.quiz(0)
    student = await make_user(name="Ada Lovelace")
    headers = await api_login(client, student.email)
    await _enroll(client, headers, course.id)

    for lesson_id in course.lessons:
        result = await _complete(client, headers, lesson_id)
        assert result["course_completed"] is False and result["certificate_code"] is None
    failed = await _attempt(client, headers, quiz, wrong_answers(quiz))
    assert failed["passed"] is False and failed["course_completed"] is False
    outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    assert outline["completed_at"] is None and outline["certificate_code"] is None
    assert (await client.get("/api/v1/certificates", headers=headers)).json() == []

    passed = await _attempt(client, headers, quiz, right_answers(quiz))
    assert passed["passed"] is True and passed["course_completed"] is True
    code = passed["certificate_code"]
    assert code and passed["xp_gained"] >= 100, "course XP comes with the completion"
    assert "Graduate" in passed["achievements"]
    outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    assert outline["completed_at"] is not None and outline["certificate_code"] == code
    assert outline["quizzes_passed"] == outline["quizzes_total"] == 1
    (certificate,) = (await client.get("/api/v1/certificates", headers=headers)).json()
    assert certificate["code"] == code and certificate["student_name"] == "Ada Lovelace"
    assert certificate["course_title"] == "Test Course" and certificate["status"] == "valid"
    again = await _attempt(client, headers, quiz, right_answers(quiz))
    assert again["course_completed"] is False and again["certificate_code"] is None, "completes once"


async def test_the_last_lesson_can_be_what_completes_the_course(client, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=[0])
    student = await make_user()
    headers = await api_login(client, student.email)
    await _enroll(client, headers, course.id)
    await _complete(client, headers, course.lessons[0])
    assert (await _attempt(client, headers, course.quiz(0), right_answers(course.quiz(0))))[
        "course_completed"
    ] is False
    last = await _complete(client, headers, course.lessons[1])
    assert last["course_completed"] is True and last["certificate_code"]


async def test_a_course_without_certificates_completes_without_one(client, tmp_path):
    course = await make_course(tmp_path, lessons=1, quiz=False, certificate=False)
    student = await make_user()
    headers = await api_login(client, student.email)
    await _enroll(client, headers, course.id)
    result = await _complete(client, headers, course.lessons[0])
    assert result["course_completed"] is True and result["certificate_code"] is None
    assert (await client.get("/api/v1/certificates", headers=headers)).json() == []


async def test_deadlines_are_due_a_number_of_days_after_enrollment(client, tmp_path):
    course = await make_course(tmp_path, lessons=3, quiz=False, deadline_days={0: 7, 2: 14})
    student = await make_user()
    headers = await api_login(client, student.email)
    with clock.frozen(T0):
        enrollment = await _enroll(client, headers, course.id)
    assert datetime.fromisoformat(enrollment["enrolled_at"]) == T0

    with clock.frozen(T0 + timedelta(days=1)):
        outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    due = [s["due_at"] and datetime.fromisoformat(s["due_at"]) for s in _states(outline)]
    assert due == [T0 + timedelta(days=7), None, T0 + timedelta(days=14)]
    assert [s["overdue"] for s in _states(outline)] == [False, False, False]

    with clock.frozen(T0 + timedelta(days=8)):
        await _complete(client, headers, course.lessons[1])
        outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    assert [s["overdue"] for s in _states(outline)] == [True, False, False]
    with clock.frozen(T0 + timedelta(days=9)):
        await _complete(client, headers, course.lessons[0])
        outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    assert [s["overdue"] for s in _states(outline)] == [False, False, False], "done is never overdue"

    anonymous = (await client.get(f"/api/v1/courses/{course.id}")).json()
    assert [s["due_at"] for s in _states(anonymous)] == [None, None, None]


async def test_who_may_read_a_students_progress(client, tmp_path):
    course = await make_course(tmp_path / "a", lessons=2, quiz=False)
    other_course = await make_course(
        tmp_path / "b", slug="other-course", title="Other", lessons=1, quiz=False
    )
    student, classmate = await make_user(name="Student"), await make_user()
    curator, stranger_curator = await make_user(role=Role.curator), await make_user(role=Role.curator)
    admin = await make_user(role=Role.admin)
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, curator, course.id)
        await enrollment_service.assign_curator(uow.session, stranger_curator, other_course.id)
    headers = await api_login(client, student.email)
    await _enroll(client, headers, course.id)
    await _enroll(client, headers, other_course.id)
    await _complete(client, headers, course.lessons[0])
    url = f"/api/v1/students/{student.id}/progress"

    own = await client.get(url, headers=headers)
    assert own.status_code == 200
    by_course = {c["course_id"]: c for c in own.json()["courses"]}
    assert set(by_course) == {course.id, other_course.id}
    assert (by_course[course.id]["lessons_done"], by_course[course.id]["progress_pct"]) == (1, 50)
    assert own.json()["xp"] == 10 and own.json()["name"] == "Student"

    as_classmate = await client.get(url, headers=await api_login(client, classmate.email))
    assert as_classmate.status_code == 404
    as_curator = await client.get(url, headers=await api_login(client, curator.email))
    assert as_curator.status_code == 200
    assert [c["course_id"] for c in as_curator.json()["courses"]] == [course.id], "only the curated course"
    assert as_curator.json()["courses"][0]["lessons_done"] == 1
    curator_other = await client.get(
        url, headers=await api_login(client, curator.email), params={"course_id": other_course.id}
    )
    assert curator_other.status_code == 404
    as_admin = await client.get(url, headers=await api_login(client, admin.email))
    assert as_admin.status_code == 200 and len(as_admin.json()["courses"]) == 2

    classmate_url = f"/api/v1/students/{classmate.id}/progress"
    not_assigned = await client.get(classmate_url, headers=await api_login(client, curator.email))
    assert not_assigned.status_code == 404, "a curator sees only students of their courses"
    unknown = await client.get("/api/v1/students/987654/progress", headers=headers)
    assert unknown.status_code == 404


async def test_a_curator_not_assigned_to_the_course_gets_404(client, tmp_path):
    course = await make_course(tmp_path, lessons=1, quiz=False)
    student, curator = await make_user(), await make_user(role=Role.curator)
    await _enroll(client, await api_login(client, student.email), course.id)
    r = await client.get(
        f"/api/v1/students/{student.id}/progress", headers=await api_login(client, curator.email)
    )
    assert r.status_code == 404


async def test_activity_records_learning_events_in_order_and_is_private(client, tmp_path):
    course = await make_course(tmp_path, lessons=1, quiz=True)
    quiz = course.quiz(0)
    student, other, admin = await make_user(), await make_user(), await make_user(role=Role.admin)
    headers = await api_login(client, student.email)
    times = [T0 + timedelta(minutes=n) for n in range(5)]
    with clock.frozen(times[0]):
        await _enroll(client, headers, course.id)
    with clock.frozen(times[1]):
        assert (await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=headers)).status_code == 200
    with clock.frozen(times[2]):
        await _complete(client, headers, course.lessons[0])
    with clock.frozen(times[3]):
        await _attempt(client, headers, quiz, wrong_answers(quiz))
    with clock.frozen(times[4]):
        await _attempt(client, headers, quiz, right_answers(quiz))

    kinds = [
        "course_enrolled",
        "lesson_opened",
        "lesson_completed",
        "quiz_attempted",
        "quiz_passed",
        "quiz_failed",
        "course_completed",
    ]
    r = await client.get("/api/v1/activity", headers=headers, params={"kind": kinds, "size": 50})
    assert r.status_code == 200
    events = [(e["kind"], datetime.fromisoformat(e["at"])) for e in r.json()["items"]]
    assert list(reversed(events)) == [
        ("course_enrolled", times[0]),
        ("lesson_opened", times[1]),
        ("lesson_completed", times[2]),
        ("quiz_attempted", times[3]),
        ("quiz_failed", times[3]),
        ("quiz_attempted", times[4]),
        ("quiz_passed", times[4]),
        ("course_completed", times[4]),
    ]
    items = r.json()["items"]
    assert all(e["user_id"] == student.id and e["course_id"] == course.id for e in items)
    quiz_events = [e for e in items if e["kind"].startswith("quiz_")]
    assert {e["quiz_id"] for e in quiz_events} == {quiz.id}
    assert [e["data"]["score"] for e in quiz_events if e["kind"] != "quiz_attempted"] == [100, 0]

    everything = (await client.get("/api/v1/activity", headers=headers, params={"size": 100})).json()
    assert {"achievement_unlocked", "certificate_issued"} <= {e["kind"] for e in everything["items"]}

    other_headers = await api_login(client, other.email)
    snoop = await client.get("/api/v1/activity", headers=other_headers, params={"user_id": student.id})
    assert snoop.status_code == 404
    assert (await client.get("/api/v1/activity", headers=other_headers)).json()["total"] == 0
    as_admin = await client.get(
        "/api/v1/activity", headers=await api_login(client, admin.email), params={"user_id": student.id}
    )
    assert as_admin.status_code == 200 and as_admin.json()["total"] == everything["total"]


async def test_a_course_withdrawn_after_enrolling_does_not_break_the_students_pages(client, tmp_path):
    withdrawn = await make_course(tmp_path / "a", lessons=2, quiz=False)
    other = await make_course(tmp_path / "b", slug="other-course", title="Other", lessons=1, quiz=False)
    student = await make_user()
    headers = await api_login(client, student.email)
    await _enroll(client, headers, withdrawn.id)
    await _enroll(client, headers, other.id)
    await _complete(client, headers, withdrawn.lessons[0])
    course_yaml = withdrawn.folder / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("published: true", "published: false"))
    await import_course(withdrawn.folder)

    mine = await client.get("/api/v1/enrollments", headers=headers)
    assert mine.status_code == 200
    assert {e["course_id"]: e["lessons_done"] for e in mine.json()["items"]} == {withdrawn.id: 1, other.id: 0}
    progress = await client.get(f"/api/v1/students/{student.id}/progress", headers=headers)
    assert progress.status_code == 200
    assert {c["course_id"] for c in progress.json()["courses"]} == {withdrawn.id, other.id}
    assert (await client.get(f"/api/v1/lessons/{withdrawn.lessons[1]}", headers=headers)).status_code == 404
