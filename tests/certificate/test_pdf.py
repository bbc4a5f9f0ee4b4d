import datetime
import io
from typing import cast

import pypdf
import pytest
from pypdf.generic import ContentStream, DictionaryObject

from academy.certificate import pdf
from academy.certificate.pdf import QR_SIZE, format_date, latin1_safe, qr_matrix, render_certificate

URL = "https://academy.example.com/certificates/verify/ACAD-7Q2K-M9XP"
CODE = "ACAD-7Q2K-M9XP"
ISSUED = datetime.date(2026, 11, 21)
MM = 72 / 25.4


def _render(
    *,
    student_name: str = "Jane Doe",
    course_title: str = "Trading fundamentals",
    school_name: str = "Academy",
    revoked: bool = False,
) -> bytes:
    return render_certificate(
        student_name=student_name,
        course_title=course_title,
        issued_on=ISSUED,
        code=CODE,
        verify_url=URL,
        school_name=school_name,
        revoked=revoked,
    )


def _reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def _text(data: bytes) -> str:
    return _reader(data).pages[0].extract_text()


def _fonts(data: bytes) -> set[str]:
    resources = cast(DictionaryObject, _reader(data).pages[0]["/Resources"].get_object())
    fonts = cast(DictionaryObject, resources["/Font"].get_object())
    return {str(cast(DictionaryObject, font.get_object())["/BaseFont"]) for font in fonts.values()}


def _drawn_qr(data: bytes, url: str) -> tuple[tuple[bool, ...], ...]:
    """Rebuild the module grid from the filled rectangles of one module's height on the page."""
    reader = _reader(data)
    page = reader.pages[0]
    module = QR_SIZE * MM / len(qr_matrix(url))
    runs = []
    for operands, operator in ContentStream(page.get_contents(), reader).operations:
        if operator == b"re":
            x, y, w, h = (float(v) for v in operands)
            if abs(abs(h) - module) < 0.02:
                runs.append((x, y, w))
    assert runs, "no QR modules drawn"
    left = min(x for x, _, _ in runs)
    top = max(y for _, y, _ in runs)
    size = len(qr_matrix(url))
    grid = [[False] * size for _ in range(size)]
    for x, y, w in runs:
        row = round((top - y) / module)
        col = round((x - left) / module)
        for offset in range(round(w / module)):
            grid[row][col + offset] = True
    return tuple(tuple(row) for row in grid)


def test_dejavu_font_is_installed() -> None:
    assert pdf.find_fonts() is not None, "install Debian's fonts-dejavu-core for Cyrillic certificates"


@pytest.mark.parametrize(
    ("name", "course"),
    [("Jane Doe", "Trading fundamentals"), ("Иван Петров", "Основы трейдинга: риск и позиция")],
)
def test_text_carries_every_field(name: str, course: str) -> None:
    text = _text(_render(student_name=name, course_title=course, school_name="Trading Academy"))

    assert name in text
    assert course in text
    assert "21 November 2026" in text
    assert f"Verification code: {CODE}" in text
    assert URL in text
    assert "Certificate of completion" in text
    assert "has completed the course" in text
    assert "TRADING ACADEMY" in text
    assert "REVOKED" not in text


def test_cyrillic_is_drawn_with_an_embedded_unicode_font() -> None:
    assert any("DejaVu" in font for font in _fonts(_render(student_name="Иван Петров")))


def test_one_a4_landscape_page() -> None:
    reader = _reader(_render())

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(297 * MM, abs=0.5)
    assert float(box.height) == pytest.approx(210 * MM, abs=0.5)


def test_long_name_and_title_stay_on_one_page() -> None:
    data = _render(student_name="Maximilian " * 12, course_title="Advanced market structure " * 8)

    assert len(_reader(data).pages) == 1


def test_metadata_names_the_student_and_the_code() -> None:
    meta = _reader(_render(student_name="Иван Петров", school_name="Trading Academy")).metadata

    assert meta is not None
    assert meta.title is not None and "Иван Петров" in meta.title
    assert meta.subject is not None and CODE in meta.subject
    assert meta.author == "Trading Academy"


def test_revoked_certificate_is_stamped() -> None:
    data = _render(revoked=True)

    assert "REVOKED" in _text(data)
    meta = _reader(data).metadata
    assert meta is not None and meta.title is not None and "REVOKED" in meta.title


def test_same_certificate_renders_to_the_same_bytes() -> None:
    assert _render() == _render()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2026, 11, 21), "21 November 2026"),
        (datetime.date(2027, 1, 5), "5 January 2027"),
        (datetime.date(2024, 2, 29), "29 February 2024"),
    ],
)
def test_format_date(day: datetime.date, expected: str) -> None:
    assert format_date(day) == expected


def test_qr_matrix_is_a_full_qr_code() -> None:
    matrix = qr_matrix(URL)
    size = len(matrix)

    assert all(len(row) == size for row in matrix)
    assert (size - 17) % 4 == 0 and size >= 21
    finder = [
        [r in (0, 6) or c in (0, 6) or (2 <= r <= 4 and 2 <= c <= 4) for c in range(7)] for r in range(7)
    ]
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        assert [list(row[left : left + 7]) for row in matrix[top : top + 7]] == finder
    assert qr_matrix(URL + "X") != matrix


@pytest.mark.parametrize("revoked", [False, True])
def test_drawn_qr_is_the_matrix_of_the_verify_url(revoked: bool) -> None:
    assert _drawn_qr(_render(revoked=revoked), URL) == qr_matrix(URL)


def test_without_a_ttf_font_falls_back_to_helvetica(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "find_fonts", lambda: None)

    data = _render(student_name="Иван Петров 王", course_title="Курс — «Трейдинг»")
    text = _text(data)

    assert "Ivan Petrov ?" in text
    assert "Kurs - «Treyding»" in text
    assert CODE in text
    assert "21 November 2026" in text
    assert all("Helvetica" in font for font in _fonts(data))


def test_latin1_safe() -> None:
    assert latin1_safe("Иван Петров") == "Ivan Petrov"
    assert latin1_safe("Юрий Щукин") == "Yuriy Shchukin"
    assert latin1_safe("Zoë Łukasz Dvořák") == "Zoë Lukasz Dvorák"
    assert latin1_safe("“Quoted” — ok…") == '"Quoted" - ok...'
    assert latin1_safe("王") == "?"
