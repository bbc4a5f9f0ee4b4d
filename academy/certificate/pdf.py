"""One-page A4 landscape certificate of completion, drawn with fpdf2 and a vector QR code."""

import datetime
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import segno
import structlog
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

log = structlog.get_logger()

PAGE_W, PAGE_H = 297.0, 210.0
QR_SIZE = 30.0

_NAVY = (27, 42, 74)
_GOLD = (176, 141, 62)
_INK = (51, 51, 51)
_MUTED = (110, 110, 110)
_PAPER = (253, 251, 245)
_RED = (190, 30, 45)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Debian's fonts-dejavu-core; the other paths cover distributions that lay fonts out differently.
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)
_REGULAR = "DejaVuSans.ttf"
_BOLD = "DejaVuSans-Bold.ttf"

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi",
    "є": "ye", "ґ": "g", "ł": "l", "đ": "d",
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u201e": '"', "\u2026": "...",
}  # fmt: skip


def format_date(day: datetime.date) -> str:
    # Spelled out by hand: strftime("%B") follows the process locale.
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """Rows of QR modules for `url` (True = dark), without the quiet zone."""
    # make_qr, not make: segno.make may choose a Micro QR, which phone cameras often cannot read.
    qr = segno.make_qr(url, error="m")
    return tuple(tuple(bool(module) for module in row) for row in qr.matrix)


@lru_cache(maxsize=1)
def find_fonts() -> tuple[Path, Path] | None:
    """(regular, bold) DejaVu Sans files, or None when they are not installed."""
    for folder in _FONT_DIRS:
        regular = folder / _REGULAR
        if regular.is_file():
            bold = folder / _BOLD
            return regular, bold if bold.is_file() else regular
    for regular in Path("/usr/share/fonts").rglob(_REGULAR):
        bold = regular.with_name(_BOLD)
        return regular, bold if bold.is_file() else regular
    return None


def latin1_safe(text: str) -> str:
    """Best-effort Latin-1 rendering of `text` for the core fonts: transliterate, strip accents, then '?'."""
    out = []
    for char in text:
        if _encodable(char):
            out.append(char)
            continue
        lower = char.lower()
        if lower in _TRANSLIT:
            latin = _TRANSLIT[lower]
            out.append(latin.capitalize() if char != lower else latin)
            continue
        stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(stripped if stripped and _encodable(stripped) else "?")
    return "".join(out)


def _encodable(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class _Certificate:
    def __init__(self) -> None:
        self.pdf = FPDF(orientation="landscape", unit="mm", format="A4")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(0, 0, 0)
        fonts = find_fonts()
        if fonts is None:
            log.warning("certificate_font_missing", font=_REGULAR, fallback="helvetica")
            self.family = "helvetica"
            self.safe: Callable[[str], str] = latin1_safe
        else:
            self.pdf.add_font("dejavu", "", fonts[0])
            self.pdf.add_font("dejavu", "B", fonts[1])
            self.family = "dejavu"
            self.safe = str
        self.pdf.add_page()

    def font(self, size: float, *, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*color)

    def fit(self, text: str, width: float, size: float, minimum: float, *, bold: bool = False) -> float:
        """The largest size from `size` down to `minimum` at which `text` fits on one line of `width`."""
        while size > minimum:
            self.pdf.set_font(self.family, "B" if bold else "", size)
            if self.pdf.get_string_width(text) <= width:
                break
            size -= 0.5
        return max(size, minimum)

    def centered(
        self,
        text: str,
        y: float,
        size: float,
        *,
        minimum: float | None = None,
        bold: bool = False,
        color: tuple[int, int, int] = _INK,
        width: float = 230.0,
    ) -> float:
        """Write `text` centred (shrinking, then wrapping, when it is long); return the y below it."""
        text = self.safe(text)
        if minimum is not None:
            size = self.fit(text, width, size, minimum, bold=bold)
        self.font(size, bold=bold, color=color)
        self.pdf.set_xy((PAGE_W - width) / 2, y)
        self.pdf.multi_cell(width, size * 0.45, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return self.pdf.get_y()

    def frame(self) -> None:
        pdf = self.pdf
        pdf.set_fill_color(*_PAPER)
        pdf.rect(0, 0, PAGE_W, PAGE_H, style="F")
        pdf.set_draw_color(*_NAVY)
        pdf.set_line_width(1.4)
        pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
        pdf.set_draw_color(*_GOLD)
        pdf.set_line_width(0.4)
        pdf.rect(12, 12, PAGE_W - 24, PAGE_H - 24)
        pdf.set_fill_color(*_GOLD)
        for x, y in ((12, 12), (PAGE_W - 12, 12), (12, PAGE_H - 12), (PAGE_W - 12, PAGE_H - 12)):
            pdf.polygon([(x, y - 3), (x + 3, y), (x, y + 3), (x - 3, y)], style="F")

    def rule(
        self, y: float, width: float, *, color: tuple[int, int, int] = _GOLD, x: float | None = None
    ) -> None:
        self.pdf.set_draw_color(*color)
        self.pdf.set_line_width(0.35)
        left = (PAGE_W - width) / 2 if x is None else x
        self.pdf.line(left, y, left + width, y)

    def qr(self, url: str, x: float, y: float, size: float) -> None:
        matrix = qr_matrix(url)
        module = size / len(matrix)
        pdf = self.pdf
        pdf.set_fill_color(255, 255, 255)
        quiet = 4 * module
        pdf.rect(x - quiet, y - quiet, size + 2 * quiet, size + 2 * quiet, style="F")
        pdf.set_fill_color(0, 0, 0)
        # Each horizontal run of dark modules is one rectangle: fewer operators, no hairline seams.
        for row_index, row in enumerate(matrix):
            col = 0
            while col < len(row):
                if not row[col]:
                    col += 1
                    continue
                end = col
                while end < len(row) and row[end]:
                    end += 1
                pdf.rect(x + col * module, y + row_index * module, (end - col) * module, module, style="F")
                col = end

    def revoked_stamp(self) -> None:
        pdf = self.pdf
        cx, cy = PAGE_W / 2, PAGE_H / 2 + 5
        with pdf.local_context(fill_opacity=0.8, stroke_opacity=0.8), pdf.rotation(18, cx, cy):
            pdf.set_draw_color(*_RED)
            pdf.set_line_width(2.2)
            pdf.rect(cx - 75, cy - 19, 150, 38, round_corners=True, corner_radius=4)
            self.font(58, bold=True, color=_RED)
            pdf.set_char_spacing(4)
            pdf.set_xy(cx - 75, cy - 19)
            pdf.cell(150, 38, "REVOKED", align=Align.C)
            pdf.set_char_spacing(0)


def render_certificate(
    *,
    student_name: str,
    course_title: str,
    issued_on: datetime.date,
    code: str,
    verify_url: str,
    school_name: str = "Academy",
    revoked: bool = False,
) -> bytes:
    """A one-page A4 landscape PDF certificate of completion with a QR code linking to `verify_url`."""
    cert = _Certificate()
    pdf = cert.pdf
    title = f"Certificate of completion: {student_name}"
    subject = f"{course_title}; verification code {code}"
    if revoked:
        title += " (REVOKED)"
        subject += "; REVOKED"
    pdf.set_title(title)
    pdf.set_subject(subject)
    pdf.set_author(school_name)
    pdf.set_creator(school_name)
    pdf.set_keywords(["certificate", code])
    pdf.set_lang("en")
    # Pinned so the same certificate always renders to the same bytes.
    pdf.set_creation_date(datetime.datetime.combine(issued_on, datetime.time(), tzinfo=datetime.UTC))

    cert.frame()

    school = cert.safe(school_name.upper())
    cert.font(cert.fit(school, 200, 15, 9, bold=True), bold=True, color=_GOLD)
    pdf.set_char_spacing(2.5)
    pdf.set_xy(0, 27)
    pdf.cell(PAGE_W, 8, school, align=Align.C)
    pdf.set_char_spacing(0)
    cert.rule(39, 40)

    cert.centered("Certificate of completion", 46, 34, bold=True, color=_NAVY)
    cert.centered("This is to certify that", 70, 13, color=_MUTED)
    below_name = cert.centered(student_name, 81, 36, minimum=20, bold=True, color=_NAVY)
    cert.rule(below_name + 2, 150)
    below = cert.centered("has completed the course", below_name + 8, 13, color=_MUTED)
    cert.centered(course_title, below + 5, 22, minimum=14, bold=True, color=_INK, width=220)

    date_text = format_date(issued_on)
    cert.font(14)
    pdf.set_xy(30, 166)
    pdf.cell(70, 8, date_text, align=Align.C)
    cert.rule(175, 70, color=_MUTED, x=30)
    cert.font(9, color=_MUTED)
    pdf.set_xy(30, 177)
    pdf.cell(70, 5, "Date of issue", align=Align.C)

    qr_x, qr_y = PAGE_W - 22 - QR_SIZE, PAGE_H - 22 - QR_SIZE
    cert.qr(verify_url, qr_x, qr_y, QR_SIZE)
    text_right = qr_x - 6
    text_width = text_right - 110
    code_line = cert.safe(f"Verification code: {code}")
    cert.font(cert.fit(code_line, text_width, 11, 7, bold=True), bold=True, color=_NAVY)
    pdf.set_xy(110, qr_y + QR_SIZE - 15)
    pdf.cell(text_width, 6, code_line, align=Align.R)
    url_line = cert.safe(verify_url)
    cert.font(cert.fit(url_line, text_width, 9, 6), color=_MUTED)
    pdf.set_xy(110, qr_y + QR_SIZE - 8)
    pdf.multi_cell(text_width, 4, url_line, align=Align.R, wrapmode=WrapMode.CHAR)

    if revoked:
        cert.revoked_stamp()
    return bytes(pdf.output())
