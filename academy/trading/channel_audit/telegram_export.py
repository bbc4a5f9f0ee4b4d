"""Read channel messages from a Telegram Desktop JSON export or a JSON-lines file.

Telegram Desktop writes `result.json` either for one chat (`{"name", "type", "id", "messages"}`)
or for the whole account (`{"chats": {"list": [{..., "messages"}]}}`). A message's `text` is a
plain string or a list mixing strings and entity objects (`{"type": "bold", "text": "BUY"}`);
`text_entities` holds the same text as entity objects only. Dates are the exporting computer's
local time without an offset, so `date_unixtime` (a string of seconds) is the reliable instant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ChannelMessage", "ExportError", "export_name", "parse_messages", "read_messages"]


class ExportError(ValueError):
    """The file is not a Telegram export or a JSON-lines file of messages."""


@dataclass(frozen=True)
class ChannelMessage:
    text: str
    id: int | None = None
    date: str | None = None
    date_unixtime: int | None = None
    edited: str | None = None
    edited_unixtime: int | None = None
    author: str | None = None


def read_messages(path: Path) -> Iterator[ChannelMessage]:
    """Yield the file's messages in order; service messages (joins, pins) are skipped."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    yield from parse_messages(raw, str(path))


def parse_messages(raw: str, path: str = "the file") -> Iterator[ChannelMessage]:
    """`read_messages` for text already in memory (an upload); `path` names it in errors."""
    if not raw.strip():
        raise ExportError(f"{path} is empty")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        yield from _json_lines(raw, path)
        return
    if isinstance(document, dict) and document.get("text") is not None and "messages" not in document:
        yield _message(document, f"{path}: line 1")
        return
    for index, item in enumerate(_export_messages(document, path)):
        if not isinstance(item, dict):
            raise ExportError(f"{path}: message #{index + 1} is not an object")
        if item.get("type", "message") == "service":
            continue
        yield _message(item, f"{path}: message #{index + 1}")


def export_name(raw: str) -> str | None:
    """The chat's name in a one-chat export, if the text is one."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        return None
    name = document.get("name") if isinstance(document, dict) else None
    return name.strip() or None if isinstance(name, str) else None


def _export_messages(document: Any, path: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        return document["messages"]
    chats = document.get("chats") if isinstance(document, dict) else None
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        messages: list[Any] = []
        for chat in chats["list"]:
            if isinstance(chat, dict) and isinstance(chat.get("messages"), list):
                messages.extend(chat["messages"])
        return messages
    raise ExportError(
        f'{path} is neither a Telegram export (no "messages" list) nor JSON lines of {{"text": ...}}'
    )


def _json_lines(raw: str, path: str) -> Iterator[ChannelMessage]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportError(f"{path}: line {number} is not valid JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or "text" not in item:
            raise ExportError(f'{path}: line {number} is not an object with a "text" key')
        yield _message(item, f"{path}: line {number}")


def _message(item: dict[str, Any], where: str) -> ChannelMessage:
    text = item.get("text")
    if text in (None, "", []) and item.get("text_entities"):
        text = item["text_entities"]
    return ChannelMessage(
        text=_flatten(text if text is not None else "", where),
        id=_int(item.get("id"), "id", where),
        date=_str(item.get("date")),
        date_unixtime=_int(item.get("date_unixtime"), "date_unixtime", where),
        edited=_str(item.get("edited")),
        edited_unixtime=_int(item.get("edited_unixtime"), "edited_unixtime", where),
        author=_str(item.get("from")),
    )


def _flatten(text: Any, where: str) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        parts = []
        for part in text:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text", ""), str):
                parts.append(part.get("text", ""))
            else:
                raise ExportError(f"{where}: text part {part!r} is neither a string nor an entity")
        return "".join(parts)
    raise ExportError(f"{where}: text is {type(text).__name__}, expected a string or a list")


def _int(value: Any, name: str, where: str) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExportError(f"{where}: {name} {value!r} is not a whole number") from None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
