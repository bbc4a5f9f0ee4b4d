"""Certificates: anyone can verify a code, only an admin can revoke, the PDF carries the code."""

import io
import re

import pytest
from pypdf import PdfReader

from academy.certificate.service import CODE_PATTERN, certificate_service
from academy.kit.uow import UnitOfWork
from academy.models import Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import complete, enroll, make_course

UNKNOWN = "ABCD-0000-1111"  # 0 and 1 are not in the code alphabet: never issued


@pytest.fixture
async def issued(settings, tmp_path):
    """A student who finished a one-lesson course, and the code of their certificate."""
    course = await make_course(tmp_path, title="Risk Basics", lessons=1, quiz=False)
    student = await make_user(name="Grace Hopper")
    await enroll(student, course.id)
    result = await complete(student, course.lessons[0])
    assert result.course_completed and result.certificate_code
    return student, course, result.certificate_code


async def _revoke(client, code, headers, reason="Copied the final quiz"):
    return await client.post(f"/api/v1/certificates/{code}/revoke", headers=headers, json={"reason": reason})


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_a_valid_code_verifies_for_anyone(client, issued):
    student, course, code = issued
    assert CODE_PATTERN.match(code), "codes are typed in by hand: XXXX-XXXX-XXXX"
    r = await client.get(f"/api/v1/certificates/{code}")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "valid" and body["revoked_at"] is None
    assert (body["code"], body["student_name"], body["course_title"], body["course_id"]) == (
        code,
        "Grace Hopper",
        "Risk Basics",
        course.id,
    )
    assert body["verify_url"] == f"http://testserver/certificates/{code}"
    assert body["pdf_url"] == f"http://testserver/certificates/{code}.pdf"
    typed = code.lower().replace("-", " ")
    assert (await client.get(f"/api/v1/certificates/{typed}")).json()["code"] == code
    mine = (await client.get("/api/v1/certificates", headers=await api_login(client, student.email))).json()
    assert [c["code"] for c in mine] == [code]


async def test_an_unknown_code_is_not_found(client, issued):
    r = await client.get(f"/api/v1/certificates/{UNKNOWN}")
    assert r.status_code == 404 and "No certificate" in r.json()["detail"]
    assert (await client.get("/api/v1/certificates/nonsense")).status_code == 404


async def test_only_an_admin_revokes_and_the_code_then_verifies_as_revoked(client, issued):
    student, _, code = issued
    curator, admin = await make_user(role=Role.curator), await make_user(role=Role.admin)
    assert (await _revoke(client, code, {})).status_code == 401
    assert (await _revoke(client, code, await api_login(client, student.email))).status_code == 403
    assert (await _revoke(client, code, await api_login(client, curator.email))).status_code == 403
    assert (await client.get(f"/api/v1/certificates/{code}")).json()["status"] == "valid"

    admin_headers = await api_login(client, admin.email)
    assert (await _revoke(client, code, admin_headers, reason="x")).status_code == 422
    r = await _revoke(client, code, admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    verified = (await client.get(f"/api/v1/certificates/{code}")).json()
    assert verified["status"] == "revoked" and verified["revoked_reason"] == "Copied the final quiz"
    assert verified["revoked_at"] is not None
    assert (await _revoke(client, code, admin_headers)).status_code == 409
    assert (await _revoke(client, UNKNOWN, admin_headers)).status_code == 404


async def test_the_pdf_carries_the_code_and_a_revoked_one_says_so(client, issued):
    _, _, code = issued
    async with UnitOfWork() as uow:
        certificate = await certificate_service.get(uow.session, code)
        valid_pdf = await certificate_service.pdf(certificate)
    assert valid_pdf.startswith(b"%PDF")
    text = _pdf_text(valid_pdf)
    assert code in text and "Grace Hopper" in text and "Risk Basics" in text
    assert "REVOKED" not in text

    admin = await make_user(role=Role.admin)
    assert (await _revoke(client, code, await api_login(client, admin.email))).status_code == 200
    async with UnitOfWork() as uow:
        certificate = await certificate_service.get(uow.session, code)
        revoked_pdf = await certificate_service.pdf(certificate)
    revoked_text = _pdf_text(revoked_pdf)
    assert code in revoked_text and "REVOKED" in revoked_text


# --- public pages (academy/web) ---------------------------------------------------------------


async def test_the_public_page_of_a_valid_certificate(client, issued):
    _, _, code = issued
    r = await client.get(f"/certificates/{code}")
    assert r.status_code == 200
    assert 'data-status="valid"' in r.text
    assert code in r.text and "Grace Hopper" in r.text and "Risk Basics" in r.text
    assert f'href="/certificates/{code}.pdf"' in r.text


async def test_the_public_page_of_an_unknown_code_is_404(client, issued):
    r = await client.get(f"/certificates/{UNKNOWN}")
    assert r.status_code == 404
    assert UNKNOWN in r.text and "Grace Hopper" not in r.text
    assert (await client.get(f"/certificates/{UNKNOWN}.pdf")).status_code == 404


async def test_the_public_page_of_a_revoked_certificate(client, issued):
    _, _, code = issued
    admin = await make_user(role=Role.admin)
    assert (await _revoke(client, code, await api_login(client, admin.email))).status_code == 200
    r = await client.get(f"/certificates/{code}")
    assert r.status_code == 200
    assert 'data-status="revoked"' in r.text and 'data-status="valid"' not in r.text
    assert "Copied the final quiz" in r.text and re.search(r"revoked", r.text, re.I)


async def test_the_certificate_pdf_route(client, issued):
    _, _, code = issued
    r = await client.get(f"/certificates/{code}.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert code in _pdf_text(r.content)
