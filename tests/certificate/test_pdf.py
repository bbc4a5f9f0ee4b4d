"""The certificate PDF itself: what a reader (or a verifier with pypdf) finds on the page."""

import datetime
import io

import segno
from pypdf import PdfReader

from academy.certificate.pdf import find_fonts, format_date, latin1_safe, qr_matrix, render_certificate

ISSUED = datetime.date(2026, 11, 21)
URL = "https://school.example.com/certificates/ABCD-EFGH-JKLM"


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def _render(**overrides: object) -> bytes:
    options: dict[str, object] = {
        "student_name": "Anna Smirnova",
        "course_title": "Trading Foundations",
        "issued_on": ISSUED,
        "code": "ABCD-EFGH-JKLM",
        "verify_url": URL,
    }
    options.update(overrides)
    return render_certificate(**options)  # type: ignore[arg-type]


def test_the_page_carries_name_course_date_code_and_link() -> None:
    pdf = _render()
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for expected in ("Anna Smirnova", "Trading Foundations", "21 November 2026", "ABCD-EFGH-JKLM", URL):
        assert expected in text, expected
    assert "REVOKED" not in text
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None and "ABCD-EFGH-JKLM" in (metadata.subject or "")


def test_a_cyrillic_name_survives_when_the_font_is_installed() -> None:
    text = _text(_render(student_name="Иван Петров"))
    if find_fonts() is None:  # core fonts only: transliterated rather than lost
        assert "Ivan Petrov" in text
    else:
        assert "Иван Петров" in text


def test_a_revoked_certificate_says_so() -> None:
    pdf = _render(revoked=True)
    assert "REVOKED" in _text(pdf)
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None and "REVOKED" in (metadata.subject or "")


def test_rendering_is_deterministic() -> None:
    assert _render() == _render()


def test_the_qr_code_encodes_the_verification_link() -> None:
    matrix = qr_matrix(URL)
    reference = segno.make_qr(URL, error="m")
    assert [list(map(bool, row)) for row in reference.matrix] == [list(row) for row in matrix]
    assert len(matrix) == len(matrix[0]) >= 21  # a full QR symbol, not a Micro QR
    # The finder pattern in the top-left corner: a 7x7 dark ring around a 3x3 dark core.
    assert all(matrix[0][:7]) and all(matrix[6][:7]) and matrix[3][3] and not matrix[1][1]


def test_helpers_for_dates_and_latin1_fallback() -> None:
    assert format_date(datetime.date(2026, 1, 5)) == "5 January 2026"
    assert latin1_safe("Пётр — Жуков") == "Petr - Zhukov"
