"""Uploads: the type comes from the bytes, sizes are limited, and the file reaches only the right people."""

import pytest

from academy.config import get_settings
from academy.homework import files
from academy.homework.service import homework_service
from academy.kit.errors import NotFound, PayloadTooLarge, Unprocessable
from academy.kit.uow import UnitOfWork
from academy.models import Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.homework import make_assignment, make_curator, submit_file, tiny_pdf, tiny_png, zip_of
from tests.fixtures.learning import enroll, make_course


@pytest.fixture
async def course(settings, tmp_path):
    return await make_course(tmp_path, lessons=1)


def stored_files() -> list:
    root = get_settings().data_dir / "media" / "homework"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (tiny_pdf(), "pdf"),
        (tiny_png(), "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00rest", "jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "gif"),
        ("Мой ответ: стоп-лосс под минимумом.\n".encode(), "txt"),
        (b"date,close\n2026-01-01,100.5\n2026-01-02,101\n", "csv"),
        (b"a;b;c\n1;2;3\n", "csv"),
        (zip_of({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"}), "docx"),
        (zip_of({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<w/>"}), "xlsx"),
        (zip_of({"notes.txt": b"hi"}), "zip"),
        (b"one line, with a comma\nand a second line without\n", "txt"),
        (b"plain text with a \x00 NUL byte", None),
        (b"\xc3\x28 not utf-8", None),
        (b"MZ\x90\x00program", None),
        (b"PK\x03\x04 broken zip", None),
    ],
)
def test_the_type_is_decided_by_content(data, kind):
    assert files.sniff(data).kind == kind


async def test_a_png_named_pdf_is_refused_and_a_real_pdf_accepted(course):
    assignment = await make_assignment(course, kind="file", file_types=["pdf"])
    student = await make_user()
    await enroll(student, course.id)
    with pytest.raises(Unprocessable, match=r"PNG image; this homework accepts: PDF"):
        await submit_file(student, assignment.id, tiny_png(), "homework.pdf")
    assert stored_files() == []
    sent = await submit_file(student, assignment.id, tiny_pdf(), '../../Мой отчёт".pdf')
    assert sent.file_type == "pdf" and sent.file_name == "Мой отчёт_.pdf"
    assert sent.file_url == f"/homework/submissions/{sent.id}/file"
    assert len(stored_files()) == 1 and stored_files()[0].read_bytes() == tiny_pdf()


async def test_text_with_a_nul_byte_is_not_plain_text(course):
    assignment = await make_assignment(course, kind="file", file_types=["txt"])
    student = await make_user()
    await enroll(student, course.id)
    with pytest.raises(Unprocessable, match="NUL"):
        await submit_file(student, assignment.id, b"my answer\x00", "answer.txt")
    with pytest.raises(Unprocessable, match="empty"):
        await submit_file(student, assignment.id, b"", "answer.txt")


async def test_an_oversized_file_is_413_and_nothing_is_stored(course, monkeypatch):
    small = await make_assignment(course, kind="file", file_types=["pdf"], max_file_bytes=100)
    student = await make_user()
    await enroll(student, course.id)
    with pytest.raises(PayloadTooLarge):
        await submit_file(student, small.id, tiny_pdf())
    monkeypatch.setattr(get_settings(), "homework_max_file_bytes", 50)
    big_allowed = await make_assignment(course, kind="file", file_types=["pdf"])
    with pytest.raises(PayloadTooLarge):
        await submit_file(student, big_allowed.id, tiny_pdf())
    assert stored_files() == []
    async with UnitOfWork() as uow:
        assert (await homework_service.status(uow.session, student, small.id)).attempts_used == 0


async def test_over_http_too(course, client):
    assignment = await make_assignment(course, kind="file", file_types=["pdf"], max_file_bytes=300)
    student = await make_user()
    await enroll(student, course.id)
    headers = await api_login(client, student.email)
    url = f"/api/v1/assignments/{assignment.id}/submissions"
    big = await client.post(url, headers=headers, files={"file": ("a.pdf", tiny_pdf() + b" " * 400)})
    assert big.status_code == 413 and big.json()["error"] == "PayloadTooLarge"
    wrong = await client.post(url, headers=headers, files={"file": ("a.pdf", tiny_png(), "application/pdf")})
    assert wrong.status_code == 422 and "PNG" in wrong.json()["detail"]
    assert stored_files() == []


async def test_the_file_is_served_only_to_the_student_the_curators_and_admins(settings, tmp_path, client):
    course = await make_course(tmp_path, lessons=1)
    other = await make_course(tmp_path, lessons=1, slug="other-course", title="Other")
    assignment = await make_assignment(course, kind="file", file_types=["txt", "pdf"])
    student = await make_user()
    await enroll(student, course.id)
    sent = await submit_file(student, assignment.id, b"<script>alert(1)</script> my answer", "x.html")
    assert sent.file_type == "txt" and sent.file_name == "x.txt"

    curator = await make_curator(course.id)
    admin = await make_user(role=Role.admin)
    stranger_curator = await make_curator(other.id)
    classmate = await make_user()
    await enroll(classmate, course.id)
    url = f"/api/v1/submissions/{sent.id}/file"
    for who in (student, curator, admin):
        r = await client.get(url, headers=await api_login(client, who.email))
        assert r.status_code == 200, who.role
        assert r.content == b"<script>alert(1)</script> my answer"
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"].startswith('attachment; filename="x.txt"')
    for who in (stranger_curator, classmate):
        r = await client.get(url, headers=await api_login(client, who.email))
        assert r.status_code == 404, who.role
    async with UnitOfWork() as uow:
        with pytest.raises(NotFound):
            await homework_service.file(uow.session, classmate, sent.id)


async def test_binary_files_get_a_zero_proposal_asking_for_a_human(course):
    assignment = await make_assignment(
        course, kind="file", file_types=["pdf", "txt"],
        rubric=[{"key": "idea", "title": "Idea", "points": 5, "concepts": ["stop loss"]}],
    )  # fmt: skip
    student = await make_user()
    await enroll(student, course.id)
    curator = await make_curator(course.id)
    pdf = await submit_file(student, assignment.id, tiny_pdf("stop loss"))
    text = await submit_file(student, assignment.id, b"I always set a stop loss on every trade.", "a.txt")
    async with UnitOfWork() as uow:
        pdf_view = await homework_service.submission(uow.session, curator, pdf.id)
        text_view = await homework_service.submission(uow.session, curator, text.id)
    assert pdf_view.status == "proposed" and pdf_view.ai_total == 0
    assert "curator needs to look" in pdf_view.ai_scores[0].feedback
    assert "curator" in (pdf_view.ai_feedback or "")
    assert text_view.ai_total and text_view.ai_total > 0
    assert "stop loss" in text_view.ai_scores[0].feedback
