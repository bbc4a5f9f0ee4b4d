"""Lesson attachments go through the storage protocol: imported once, served, replaced when edited."""

from sqlalchemy import select

from academy.kit.uow import UnitOfWork
from academy.models import LessonAttachment
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import (
    REAL_COURSE,
    enroll,
    import_course,
    import_real_course,
    write_course_folder,
)


def _attach(folder, name: str, data: bytes) -> None:
    (lesson_file,) = folder.glob("*/01-lesson-1.md")
    (lesson_file.parent / "files").mkdir(exist_ok=True)
    (lesson_file.parent / "files" / name).write_bytes(data)
    text = lesson_file.read_text(encoding="utf-8")
    if "attachments:" not in text:
        text = text.replace("\n---\n", f"\nattachments: [files/{name}]\n---\n", 1)
    lesson_file.write_text(text, encoding="utf-8")


async def _stored() -> list[LessonAttachment]:
    async with UnitOfWork() as uow:
        return list((await uow.session.execute(select(LessonAttachment))).scalars())


async def test_an_attachment_is_stored_listed_and_downloadable(client, tmp_path):
    folder = write_course_folder(tmp_path, lessons=2, quiz=False)
    _attach(folder, "checklist.csv", b"step,done\nset the stop,yes\n")
    report = await import_course(folder)
    student = await make_user()
    await enroll(student, report.course_id)
    headers = await api_login(client, student.email)
    lessons = (await client.get(f"/api/v1/courses/{report.course_id}/lessons", headers=headers)).json()[
        "items"
    ]

    lesson = (await client.get(f"/api/v1/lessons/{lessons[0]['id']}", headers=headers)).json()
    (attachment,) = lesson["attachments"]
    assert (attachment["name"], attachment["size"], attachment["content_type"]) == (
        "files/checklist.csv",
        len(b"step,done\nset the stop,yes\n"),
        "text/csv",
    )
    download = await client.get(attachment["url"])
    assert download.status_code == 200
    assert download.content == b"step,done\nset the stop,yes\n"


async def test_reimport_keeps_an_unchanged_file_and_replaces_an_edited_one(settings, tmp_path):
    folder = write_course_folder(tmp_path, lessons=1, quiz=False)
    _attach(folder, "sheet.csv", b"a,b\n1,2\n")
    await import_course(folder)
    (first,) = await _stored()

    again = await import_course(folder)
    assert not again.changed
    assert [(a.id, a.storage_key) for a in await _stored()] == [(first.id, first.storage_key)]

    _attach(folder, "sheet.csv", b"a,b\n3,4\n")
    edited = await import_course(folder)
    assert edited.updated == ["lesson lesson-1"]
    (second,) = await _stored()
    assert second.id == first.id and second.storage_key != first.storage_key
    assert second.sha256 != first.sha256


async def test_a_missing_attachment_file_is_reported(tmp_path):
    from academy.course.content import ContentError, read_course

    folder = write_course_folder(tmp_path, lessons=1, quiz=False)
    _attach(folder, "sheet.csv", b"x")
    (folder / "01-module-1" / "files" / "sheet.csv").unlink()
    try:
        read_course(folder)
    except ContentError as error:
        (problem,) = error.problems
        assert problem.endswith("attachment 'files/sheet.csv' is not a file inside the module folder")
    else:
        raise AssertionError("a missing attachment must be reported")


async def test_the_real_course_ships_its_position_sizing_worksheet(settings):
    course = await import_real_course()
    assert REAL_COURSE.name == "trading-foundations" and course.id
    names = [a.name for a in await _stored()]
    assert names == ["files/position-sizing-worksheet.csv"]
