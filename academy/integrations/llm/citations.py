"""Citation markers in answers: `[1]`, `[2][3]`, `[1, 2]` point at the numbered passages."""

from __future__ import annotations

import re

# A marker is one or more passage numbers in square brackets, separated by commas or spaces.
_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
# The longest text that can still turn out to be a marker while it streams in, e.g. "[12, 13, 14]".
_MAX_OPEN_MARKER = 24


def cited_numbers(text: str) -> list[int]:
    """Passage numbers cited in `text`, in order of first appearance, each once."""
    seen: list[int] = []
    for match in _MARKER.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def strip_invalid(text: str, allowed: set[int]) -> str:
    """Remove citations of passages that were not retrieved; a marker keeps only its valid numbers."""

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(part) for part in re.split(r"[,;]", match.group(1))]
        valid = [n for n in numbers if n in allowed]
        if not valid:
            return ""
        return "[" + ", ".join(str(n) for n in valid) + "]"

    cleaned, previous = _MARKER.sub(keep_valid, text), text
    while cleaned != previous:  # removing "[3]" from "[7[3]]" leaves a new marker "[7]"
        cleaned, previous = _MARKER.sub(keep_valid, cleaned), cleaned
    # A dropped marker can leave "word [9]." as "word ." or a doubled space; tidy only those spots.
    if cleaned != text:
        cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
        cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return cleaned


class CitationFilter:
    """`strip_invalid` for a stream: a marker may arrive split over pieces ("[", "7", "]").

    Text that could still become a marker is held back until it is complete or clearly is not one,
    so a student never sees a citation of a passage that was not retrieved.
    """

    def __init__(self, allowed: set[int]) -> None:
        self.allowed = allowed
        self._pending = ""

    def feed(self, piece: str) -> str:
        if self._pending.isspace() and piece[:1].isspace():
            # Held spaces before a dropped marker: the piece brings its own space.
            self._pending = ""
        text = strip_invalid(self._pending + piece, self.allowed)
        hold_from = len(text)
        start = text.rfind("[")
        if (
            start != -1
            and len(text) - start <= _MAX_OPEN_MARKER
            and re.fullmatch(r"\[[\d\s,;]*", text[start:])
        ):
            hold_from = start
        # Trailing spaces wait for the next piece too: if it starts with a dropped marker,
        # "word [9]." must come out as "word." and not "word ."
        released = text[:hold_from].rstrip(" \t")
        self._pending = text[len(released) :]
        return released

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return strip_invalid(text, self.allowed)
