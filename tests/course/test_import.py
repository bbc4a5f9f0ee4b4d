"""Course-as-code: an author's folder goes in, the same folder comes out, students' work survives edits."""

import re
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from academy.course.content import ContentError, read_course
from academy.course.service import course_service
from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import Base, Course, Lesson, Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import (
    REAL_COURSE,
    attempt,
    complete,
    enroll,
    import_course,
    import_real_course,
    make_course,
    right_answers,
    write_course_folder,
)


async def _row_counts() -> dict[str, int]:
    async with UnitOfWork() as uow:
        return {
            table.name: (await uow.session.execute(select(func.count()).select_from(table))).scalar_one()
            for table in Base.metadata.sorted_tables
        }


async def _stamps() -> dict[str, datetime]:
    async with UnitOfWork() as uow:
        courses = (await uow.session.execute(select(Course.slug, Course.updated_at))).all()
        lessons = (await uow.session.execute(select(Lesson.slug, Lesson.updated_at))).all()
    return {f"course {s}": t for s, t in courses} | {f"lesson {s}": t for s, t in lessons}


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _lesson_file(folder, index, suffix=".md"):
    (found,) = folder.glob(f"*/{index:02d}-lesson-{index}{suffix}")
    return found


def _problems(folder) -> list[str]:
    with pytest.raises(ContentError) as caught:
        read_course(folder)
    return caught.value.problems


async def test_a_valid_folder_becomes_a_course_with_lessons_quizzes_glossary_and_faq(client, tmp_path):
    course = await make_course(
        tmp_path,
        lessons=4,
        modules=2,
        quiz=[0, 2],
        prerequisites={1: [0]},
        glossary=[("Spread", "Bid to ask gap."), ("Ask", "Lowest offer.")],
    )
    assert "course test-course" in course.report.created and course.report.changed
    assert course.lesson_slugs == ["lesson-1", "lesson-2", "lesson-3", "lesson-4"]

    outline = (await client.get(f"/api/v1/courses/{course.id}")).json()
    assert [m["title"] for m in outline["modules"]] == ["Module 1", "Module 2"]
    assert [[x["title"] for x in m["lessons"]] for m in outline["modules"]] == [
        ["Lesson 1", "Lesson 2"],
        ["Lesson 3", "Lesson 4"],
    ]
    lessons = (await client.get(f"/api/v1/courses/{course.id}/lessons")).json()["items"]
    assert [x["has_quiz"] for x in lessons] == [True, False, True, False]
    assert lessons[1]["prerequisites"] == [course.lessons[0]]
    glossary = (await client.get(f"/api/v1/courses/{course.id}/glossary")).json()
    assert [t["term"] for t in glossary] == ["Ask", "Spread"]
    faq = (await client.get(f"/api/v1/courses/{course.id}/faq")).json()
    assert [f["question"] for f in faq] == ["How long does it take?"]
    assert len(course.quiz(0).questions) == 5


async def test_reimporting_an_unchanged_folder_changes_nothing(settings, tmp_path):
    with clock.frozen(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        course = await make_course(tmp_path, lessons=3, prerequisites={2: [0, 1]})
    counts, stamps = await _row_counts(), await _stamps()
    assert counts["lessons"] == 3 and counts["quiz_questions"] == 15

    with clock.frozen(datetime(2026, 3, 9, 9, 0, tzinfo=UTC)):
        again = await import_course(course.folder)
    assert again.changed is False and again.summary() == "nothing changed"
    assert (again.created, again.updated, again.retired) == ([], [], [])
    assert again.course_id == course.id
    assert await _row_counts() == counts
    assert await _stamps() == stamps


async def test_an_edited_lesson_is_updated_in_place_and_students_keep_their_progress(client, tmp_path):
    course = await make_course(
        tmp_path, lessons=3, quiz=[0], bodies={0: "## Animals\n\nThe aardvark digs for ants.\n"}
    )
    student = await make_user()
    await enroll(student, course.id)
    await complete(student, course.lessons[0])
    first = await attempt(student, course.quiz(0), right_answers(course.quiz(0)))
    assert first.passed

    lesson_file = _lesson_file(course.folder, 1)
    _edit(lesson_file, "title: Lesson 1", "title: Lesson one, revised")
    _edit(lesson_file, "The aardvark digs for ants.", "The zebra crosses the road.")
    _edit(
        _lesson_file(course.folder, 1, ".quiz.yaml"), "Who is on the other side", "Who sits on the other side"
    )
    _lesson_file(course.folder, 3).unlink()
    report = await import_course(course.folder)

    assert report.updated == ["lesson lesson-1"] and report.retired == ["lesson lesson-3"]
    assert report.created == []
    headers = await api_login(client, student.email)
    lesson = (await client.get(f"/api/v1/lessons/{course.lessons[0]}", headers=headers)).json()
    assert lesson["id"] == course.lessons[0]
    assert lesson["title"] == "Lesson one, revised" and "zebra" in lesson["content_html"]
    assert "aardvark" not in lesson["content_html"]

    quiz = (await client.get(f"/api/v1/quizzes/{course.quiz(0).id}", headers=headers)).json()
    assert [q["id"] for q in quiz["questions"]] == [q.id for q in course.quiz(0).questions]
    assert quiz["questions"][0]["prompt"].startswith("Who sits on the other side")
    assert quiz["passed"] is True and quiz["best_score"] == 100
    attempts = (await client.get(f"/api/v1/quizzes/{course.quiz(0).id}/attempts", headers=headers)).json()
    assert [a["id"] for a in attempts["items"]] == [first.id]

    outline = (await client.get(f"/api/v1/courses/{course.id}", headers=headers)).json()
    states = [x for m in outline["modules"] for x in m["lessons"]]
    assert [(x["id"], x["status"]) for x in states] == [
        (course.lessons[0], "done"),
        (course.lessons[1], "open"),
    ], "the removed lesson is unpublished, the completed one stays done"
    assert outline["quizzes_passed"] == 1

    found = (await client.get("/api/v1/search", params={"q": "zebra"})).json()
    assert [r["lesson_id"] for r in found["items"]] == [course.lessons[0]]
    assert (await client.get("/api/v1/search", params={"q": "aardvark"})).json()["total"] == 0


async def test_broken_yaml_in_front_matter_is_reported_with_its_line_and_nothing_is_imported(
    settings, tmp_path
):
    folder = write_course_folder(tmp_path, lessons=3)
    # Line 1 is '---'; the title is on line 3 of the file.
    _edit(_lesson_file(folder, 2), "title: Lesson 2", "title: Lesson 2: the sequel")
    assert _problems(folder) == [
        "test-course/01-module-1/02-lesson-2.md:3: invalid YAML: mapping values are not allowed here"
    ]
    with pytest.raises(ContentError):
        await import_course(folder)
    counts = await _row_counts()
    assert counts["courses"] == counts["lessons"] == counts["search_documents"] == 0


async def test_broken_course_yaml_is_reported_once_with_its_line(settings, tmp_path):
    folder = write_course_folder(tmp_path, lessons=1)
    _edit(folder / "course.yaml", "level: beginner\n", "level: beginner\n  colour: red\n")
    assert _problems(folder) == [
        "test-course/course.yaml:5: invalid YAML: mapping values are not allowed here"
    ]


async def test_a_broken_edit_leaves_the_imported_course_untouched(settings, tmp_path):
    course = await make_course(tmp_path, lessons=2)
    counts, stamps = await _row_counts(), await _stamps()
    _edit(_lesson_file(course.folder, 1), "title: Lesson 1", "title: Renamed lesson")
    _edit(_lesson_file(course.folder, 2), "duration: 5", "duration: 5: minutes")
    with pytest.raises(ContentError) as caught:
        await import_course(course.folder)
    assert [p.split(": ")[0] for p in caught.value.problems] == ["test-course/01-module-1/02-lesson-2.md:4"]
    assert await _row_counts() == counts and await _stamps() == stamps
    async with UnitOfWork() as uow:
        titles = [x.title for x in await course_service.lessons(uow.session, course.id)]
    assert titles == ["Lesson 1", "Lesson 2"]


async def test_unknown_key_bad_answer_index_and_unknown_prerequisite_are_each_located(settings, tmp_path):
    folder = write_course_folder(tmp_path, lessons=3)
    # front matter: 2 slug, 3 title, 4 duration, 5 tags -> the unknown key lands on line 5
    _edit(_lesson_file(folder, 2), "duration: 5\n", "duration: 5\ncolour: red\n")
    # the first question's `answer` is line 7 of the quiz file
    _edit(_lesson_file(folder, 3, ".quiz.yaml"), "    answer: 0\n", "    answer: 3\n")
    # prerequisites come after slug, title, duration, tags: line 6
    _edit(_lesson_file(folder, 1), "tags: [basics]\n", "tags: [basics]\nprerequisites: [no-such-lesson]\n")
    problems = _problems(folder)
    assert len(problems) == 3, problems
    (unknown,) = [p for p in problems if "colour" in p]
    assert unknown.startswith("test-course/01-module-1/02-lesson-2.md:5: unknown key 'colour'")
    (index,) = [p for p in problems if "answer must be" in p]
    assert (
        index == "test-course/01-module-1/03-lesson-3.quiz.yaml:7: answer must be an option index from 0 to 2"
    )
    (prerequisite,) = [p for p in problems if "no-such-lesson" in p]
    assert prerequisite == (
        "test-course/01-module-1/01-lesson-1.md:6: lesson 'lesson-1' requires unknown lesson 'no-such-lesson'"
    )
    with pytest.raises(ContentError):
        await import_course(folder)
    assert (await _row_counts())["courses"] == 0


async def test_export_then_reimport_of_the_exported_folder_changes_nothing(settings, tmp_path):
    course = await make_course(
        tmp_path / "src",
        lessons=4,
        modules=2,
        quiz=[0, 3],
        prerequisites={3: [1, 2]},
        deadline_days={1: 7},
        unpublished_lessons=[2],
        glossary=[("Spread", "Gap."), ("Ask", "Offer.")],
        faq=[("Q one?", "**A** one."), ("Q two?", "A two.")],
    )
    counts, stamps = await _row_counts(), await _stamps()
    async with UnitOfWork() as uow:
        exported = await course_service.export(uow.session, course.slug, tmp_path / "out")
    assert exported == tmp_path / "out" / "test-course"
    written, source = read_course(exported), read_course(course.folder)
    assert written.glossary == sorted(source.glossary, key=lambda t: t.term), "exported A to Z"
    written.glossary = source.glossary
    assert written == source
    report = await import_course(exported)
    assert report.changed is False
    assert await _row_counts() == counts and await _stamps() == stamps


async def test_the_real_course_survives_an_export_round_trip(real_course, tmp_path):
    counts = await _row_counts()
    async with UnitOfWork() as uow:
        exported = await course_service.export(uow.session, real_course.slug, tmp_path)
    written, source = read_course(exported), read_course(REAL_COURSE)
    assert written.glossary == sorted(source.glossary, key=lambda t: t.term.casefold())
    written.glossary = source.glossary
    assert written == source
    assert (await import_course(exported)).changed is False
    assert await _row_counts() == counts


def _run_cli(monkeypatch, migrated_template, tmp_path, *args):
    from academy.cli import app
    from academy.config import get_settings
    from tests.fixtures.db import TEST_SECRET

    db_file = tmp_path / "cli.sqlite"
    if not db_file.exists():
        shutil.copyfile(migrated_template, db_file)
    monkeypatch.setenv("ACADEMY_DATABASE_URL", f"sqlite+aiosqlite:///{db_file}")
    monkeypatch.setenv("ACADEMY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACADEMY_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ACADEMY_ENVIRONMENT", "testing")
    monkeypatch.setenv("ACADEMY_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("ACADEMY_JOBS_INLINE", "true")
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args)), db_file
    finally:
        get_settings.cache_clear()


def test_cli_import_fails_with_the_problem_on_a_broken_folder_and_succeeds_on_a_good_one(
    monkeypatch, migrated_template, tmp_path
):
    import sqlite3

    if "postgresql" in str(migrated_template):
        pytest.skip("the CLI test copies a SQLite template")
    folder = write_course_folder(tmp_path / "content", lessons=2)
    _edit(_lesson_file(folder, 1, ".quiz.yaml"), "    answer: 0\n", "    answer: 9\n")
    broken, db_file = _run_cli(monkeypatch, migrated_template, tmp_path, "content", "import", str(folder))
    assert broken.exit_code == 1
    assert "01-lesson-1.quiz.yaml:7: answer must be an option index from 0 to 2" in broken.output
    assert "nothing imported: 1 problem(s)" in broken.output
    assert sqlite3.connect(db_file).execute("select count(*) from courses").fetchone() == (0,)

    _edit(_lesson_file(folder, 1, ".quiz.yaml"), "    answer: 9\n", "    answer: 0\n")
    good, _ = _run_cli(monkeypatch, migrated_template, tmp_path, "content", "import", str(folder))
    assert good.exit_code == 0, good.output
    assert re.search(r"test-course: \d+ created, 0 updated", good.output)
    again, _ = _run_cli(monkeypatch, migrated_template, tmp_path, "content", "import", str(folder))
    assert again.exit_code == 0 and "test-course: nothing changed" in again.output
    db = sqlite3.connect(db_file)
    assert db.execute("select slug from courses").fetchall() == [("test-course",)]
    assert db.execute("select count(*) from lessons").fetchone() == (2,)


def _words(markdown: str) -> int:
    return len(re.findall(r"[A-Za-z][A-Za-z'’-]*", markdown))


async def test_the_real_course_is_complete_enough_to_teach(client, real_course):
    admin = await make_user(role=Role.admin)
    headers = await api_login(client, admin.email)
    assert real_course.report.changed and not real_course.report.updated
    outline = (await client.get(f"/api/v1/courses/{real_course.id}", headers=headers)).json()
    assert len(outline["modules"]) >= 6
    assert outline["lessons_total"] >= 24 and len(real_course.lessons) == outline["lessons_total"]
    short, without_quiz = [], []
    for lesson_id in real_course.lessons:
        lesson = (await client.get(f"/api/v1/lessons/{lesson_id}", headers=headers)).json()
        if _words(lesson["content_md"]) < 500:
            short.append((lesson["slug"], _words(lesson["content_md"])))
        quiz = (
            (await client.get(f"/api/v1/quizzes/{lesson['quiz_id']}", headers=headers)).json()
            if lesson["quiz_id"]
            else {"questions": []}
        )
        if len(quiz["questions"]) < 5:
            without_quiz.append(lesson["slug"])
    assert short == [], "every lesson has at least 500 words"
    assert without_quiz == [], "every lesson has a quiz of at least 5 questions"
    glossary = (await client.get(f"/api/v1/courses/{real_course.id}/glossary")).json()
    faq = (await client.get(f"/api/v1/courses/{real_course.id}/faq")).json()
    assert len(glossary) >= 80 and len(faq) >= 40


async def test_the_real_course_imports_idempotently(real_course):
    counts = await _row_counts()
    again = await import_real_course()
    assert again.id == real_course.id and again.lessons == real_course.lessons
    assert again.report.changed is False and await _row_counts() == counts
