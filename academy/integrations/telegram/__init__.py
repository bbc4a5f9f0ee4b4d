from __future__ import annotations

from academy.config import Settings, TelegramBackend, get_settings
from academy.integrations.telegram.protocol import (
    MAX_TEXT_LENGTH,
    SentMessage,
    TelegramClient,
    TelegramDeliveryError,
    TelegramPermanentError,
    TelegramRetryableError,
)
from academy.integrations.telegram.recording import RecordingTelegramClient

__all__ = [
    "MAX_TEXT_LENGTH",
    "SentMessage",
    "TelegramClient",
    "TelegramDeliveryError",
    "TelegramPermanentError",
    "TelegramRetryableError",
    "telegram_client",
]


def telegram_client(settings: Settings | None = None) -> TelegramClient:
    settings = settings or get_settings()
    if settings.telegram_sends is TelegramBackend.bot_api:
        # Imported here so processes that only record never load aiogram and aiohttp.
        from academy.integrations.telegram.bot_api import BotApiClient

        return BotApiClient(
            settings.telegram_bot_token, api_url=settings.telegram_api_url, timeout=settings.telegram_timeout
        )
    return RecordingTelegramClient()
