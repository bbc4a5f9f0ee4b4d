from __future__ import annotations

import html as htmllib
import itertools
import re
import time

import structlog

from academy.integrations.telegram.protocol import (
    MAX_TEXT_LENGTH,
    SentMessage,
    TelegramPermanentError,
)

log = structlog.get_logger()

# Seeded from the clock so ids stay unique across worker processes and restarts.
_message_ids = itertools.count(time.time_ns() // 1_000_000)


class RecordingTelegramClient:
    """Embedded default: performs no network I/O.

    The record of what was sent is the `telegram_messages` row the notification service marks sent,
    which `/dev/telegram` lists. Texts Telegram would refuse are refused here too, so the mistake
    shows up offline rather than on the first real send.
    """

    name = "recording"

    async def send_text(self, chat_id: str, html: str) -> SentMessage:
        if not chat_id.strip():
            raise TelegramPermanentError("Bad Request: chat not found")
        # Telegram counts the text left once tags are removed and entities decoded.
        visible = htmllib.unescape(re.sub(r"<[^>]*>", "", html))
        if not visible.strip():
            raise TelegramPermanentError("Bad Request: message text is empty")
        if len(visible) > MAX_TEXT_LENGTH:
            raise TelegramPermanentError("Bad Request: message is too long")
        sent = SentMessage(chat_id=chat_id, message_id=next(_message_ids))
        log.info("telegram.recorded", chat_id=chat_id, message_id=sent.message_id)
        return sent

    async def close(self) -> None:
        return None
