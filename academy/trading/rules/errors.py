"""The one error type of the rule language, with a position and a caret excerpt."""

from __future__ import annotations

from typing import Any

_EXCERPT_WIDTH = 72


def excerpt(text: str, line: int, column: int) -> str:
    """The source line and a caret under `column` (1-based), trimmed around it when long."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    # One printable character per source character keeps the caret under the right column.
    source = "".join(c if c.isprintable() else " " if c in "\t\r" else "?" for c in lines[line - 1])
    caret = max(column - 1, 0)
    start = 0
    if len(source) > _EXCERPT_WIDTH:
        start = max(0, min(caret - _EXCERPT_WIDTH // 2, len(source) - _EXCERPT_WIDTH))
    shown = source[start : start + _EXCERPT_WIDTH]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + _EXCERPT_WIDTH < len(source) else ""
    return f"  {prefix}{shown}{suffix}\n  {' ' * (len(prefix) + caret - start)}^"


class RuleError(ValueError):
    """A rule that cannot be parsed or compiled; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1, text: str | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        self.excerpt = excerpt(text, line, column) if text is not None else ""
        super().__init__(message, line, column)

    def with_source(self, text: str) -> RuleError:
        return RuleError(self.message, self.line, self.column, text)

    def __str__(self) -> str:
        head = f"line {self.line}, column {self.column}: {self.message}"
        return f"{head}\n{self.excerpt}" if self.excerpt else head

    def __reduce__(self) -> tuple[Any, ...]:
        return (RuleError, (self.message, self.line, self.column, self.text))
