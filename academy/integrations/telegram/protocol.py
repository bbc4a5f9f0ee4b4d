from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Telegram rejects longer texts (counted after HTML entities are parsed, so raw length is an upper bound).
MAX_TEXT_LENGTH = 4096


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    message_id: int


class TelegramDeliveryError(Exception):
    """Sending failed. Subclasses say whether trying again later can help."""

    permanent = False


class TelegramRetryableError(TelegramDeliveryError):
    """Network trouble, flood control, Telegram's own errors: the same message may go through later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TelegramPermanentError(TelegramDeliveryError):
    """The message can never be delivered as is: chat not found, bot blocked, text rejected."""

    permanent = True


class TelegramClient(Protocol):
    """Sends text messages in Telegram's HTML parse mode, with link previews turned off."""

    name: str

    async def send_text(self, chat_id: str, html: str) -> SentMessage: ...

    async def close(self) -> None: ...
