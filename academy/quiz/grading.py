"""Pure answer checking for each question kind; invalid input is an error, never a silent zero."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any


class InvalidAnswer(ValueError):
    pass


def normalize_text(value: str) -> str:
    """Case- and whitespace-insensitive: "Stop  Loss " equals "stop loss" (and "stoploss" does not)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip().casefold()


def parse_number(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidAnswer("Enter a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        # People type "1 000", "1,000" or "2,5"; a lone comma with 1-2 digits after it is a decimal mark.
        cleaned = value.strip().replace(" ", "").replace("\u00a0", "").replace("%", "").replace("$", "")
        if re.fullmatch(r"-?\d+,\d{1,2}", cleaned):
            cleaned = cleaned.replace(",", ".")
        cleaned = cleaned.replace(",", "")
        try:
            number = float(cleaned)
        except ValueError:
            raise InvalidAnswer("Enter a number, for example 42 or 0.5") from None
    else:
        raise InvalidAnswer("Enter a number")
    if not math.isfinite(number):
        raise InvalidAnswer("Enter a finite number")
    return number


def check(kind: str, expected: Any, tolerance: float, options_count: int, given: Any) -> tuple[bool, Any]:
    """Return (correct, the answer as recorded). Raises InvalidAnswer for a malformed answer."""
    if given is None or given == "" or given == []:
        raise InvalidAnswer("Answer every question")
    if kind == "single":
        index = _index(given, options_count)
        return index == expected, index
    if kind == "multiple":
        values = given if isinstance(given, list) else [given]
        picked = sorted({_index(v, options_count) for v in values})
        return picked == sorted(expected), picked
    if kind == "numeric":
        number = parse_number(given)
        # A small relative epsilon so 0.1 + 0.2 style float noise never fails an exact answer.
        return abs(number - float(expected)) <= tolerance + 1e-9 * max(1.0, abs(float(expected))), number
    if kind == "text":
        if not isinstance(given, str):
            raise InvalidAnswer("Type your answer as text")
        if len(given) > 500:
            raise InvalidAnswer("The answer is too long")
        answer = normalize_text(given)
        return answer in {normalize_text(a) for a in expected}, given.strip()
    raise InvalidAnswer(f"Unknown question kind {kind}")


def _index(value: Any, options_count: int) -> int:
    if isinstance(value, bool):
        raise InvalidAnswer("Pick one of the options")
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise InvalidAnswer("Pick one of the options") from None
    if not 0 <= index < options_count:
        raise InvalidAnswer("That option does not exist")
    return index
