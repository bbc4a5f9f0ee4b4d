"""Messages pasted as text: the rule the new-audit form states.

Messages are separated by one or more blank lines. A message's first line may date it: a line that
holds only a date and time, optionally in brackets and after the author, as Telegram Desktop copies
messages ("Gold VIP, [01.03.2024 14:10]"), or "2024-03-01 14:10", "01.03.24 14:10:05". The time is
read in the time zone the form names. A block holding nothing but such a line dates the next one.
Messages get ids 1, 2, … in the order pasted.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from academy.trading.channel_audit.telegram_export import ChannelMessage

__all__ = ["split_pasted"]

_BLANK = re.compile(r"\n[ \t\u00a0]*\n")
_DATE_LINE = re.compile(
    r"^(?:[^\n\[\]]{1,80},\s*)?\[?\s*"
    r"(?:(?P<iso>\d{4}-\d{1,2}-\d{1,2})|(?P<dmy>\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})))"
    r"(?:[ T]|,\s*)+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s*\]?\s*$"
)


def split_pasted(text: str, tz: ZoneInfo) -> list[ChannelMessage]:
    messages: list[ChannelMessage] = []
    pending: datetime | None = None
    for block in _BLANK.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").splitlines()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        stamp = _date_line(lines[0].strip(), tz)
        if stamp is not None:
            lines = lines[1:]
        body = "\n".join(lines).strip()
        if not body:
            pending = stamp or pending
            continue
        when = stamp or pending
        pending = None
        messages.append(
            ChannelMessage(
                text=body,
                id=len(messages) + 1,
                date=None if when is None else when.replace(tzinfo=None).isoformat(),
                date_unixtime=None if when is None else int(when.timestamp()),
            )
        )
    return messages


def _date_line(line: str, tz: ZoneInfo) -> datetime | None:
    match = _DATE_LINE.match(line)
    if match is None:
        return None
    clock = match["time"] if match["time"].count(":") == 2 else match["time"] + ":00"
    try:
        if match["iso"]:
            day = datetime.strptime(match["iso"], "%Y-%m-%d")
        else:
            day_fmt = "%d.%m.%Y" if len(match["dmy"].rsplit(".", 1)[1]) == 4 else "%d.%m.%y"
            day = datetime.strptime(match["dmy"], day_fmt)
        moment = datetime.strptime(clock, "%H:%M:%S")
    except ValueError:
        return None
    return day.replace(hour=moment.hour, minute=moment.minute, second=moment.second, tzinfo=tz)
