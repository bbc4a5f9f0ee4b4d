"""What an uploaded file really is, decided from its bytes: never from its name or the client's
content type, both of which the sender chooses freely."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from urllib.parse import quote

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
LABELS = {
    "pdf": "a PDF document",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "gif": "a GIF image",
    "txt": "plain text",
    "csv": "a CSV table",
    "docx": "a Word document (DOCX)",
    "xlsx": "an Excel workbook (XLSX)",
    "zip": "a ZIP archive",
}
# Kinds whose content is text the grader can read.
TEXT_KINDS = frozenset({"txt", "csv"})
_CSV_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Sniffed:
    kind: str | None  # one of CONTENT_TYPES, or None when it is none of them
    label: str  # what was found, in words, for the error message


def sniff(data: bytes) -> Sniffed:
    if data.startswith(b"%PDF-"):
        return _known("pdf")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _known("png")
    if data.startswith(b"\xff\xd8\xff"):
        return _known("jpeg")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return _known("gif")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return Sniffed(None, "a WebP image")
    if data.startswith(b"MZ") or data.startswith(b"\x7fELF"):
        return Sniffed(None, "a program (executable)")
    if b"\x00" in data:
        return Sniffed(None, "binary data (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Sniffed(None, "binary data or text that is not UTF-8")
    return _known("csv") if _is_csv(text) else _known("txt")


def _known(kind: str) -> Sniffed:
    return Sniffed(kind, LABELS[kind])


def _zip(data: bytes) -> Sniffed:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return Sniffed(None, "a damaged ZIP archive")
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return _known("docx")
        if any(n.startswith("xl/") for n in names):
            return _known("xlsx")
    return _known("zip")


def _is_csv(text: str) -> bool:
    """At least two rows, and one delimiter splitting every row into the same number (≥ 2) of fields."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    sample = lines[:200]
    for delimiter in _CSV_DELIMITERS:
        if delimiter not in sample[0]:
            continue
        try:
            widths = {len(row) for row in csv.reader(sample, delimiter=delimiter, strict=True)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def text_of(kind: str | None, data: bytes) -> str | None:
    """The readable text of a text kind; None for binary kinds (nothing is guessed from them)."""
    if kind not in TEXT_KINDS:
        return None
    return data.decode("utf-8-sig", errors="replace")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def safe_filename(name: str, kind: str) -> str:
    """The client's file name without paths, control characters or quotes, ending in the real type."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" ._") or "file"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    extension = "jpg" if kind == "jpeg" else kind
    return f"{stem[:150]}.{extension}"


def content_disposition(filename: str) -> str:
    """Always an attachment (never rendered inline), with an ASCII fallback and the UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
