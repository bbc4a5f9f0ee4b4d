from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import LinkPreviewOptions

from academy.integrations.telegram.protocol import (
    SentMessage,
    TelegramPermanentError,
    TelegramRetryableError,
)


class BotApiClient:
    """Telegram's Bot API through aiogram. One HTTP session per client; call `close()` when done."""

    name = "bot_api"

    def __init__(
        self, token: str, *, api_url: str = "https://api.telegram.org", timeout: float = 10.0
    ) -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")), timeout=timeout)
        self._bot = Bot(token, session=session)

    async def send_text(self, chat_id: str, html: str) -> SentMessage:
        try:
            message = await self._bot.send_message(
                chat_id=_chat(chat_id),
                text=html,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramRetryAfter as exc:
            raise TelegramRetryableError(exc.message, retry_after=exc.retry_after) from exc
        except TelegramMigrateToChat as exc:
            # The group became a supergroup with a new id; the stored chat id will never work again.
            raise TelegramPermanentError(f"{exc.message} (new chat id {exc.migrate_to_chat_id})") from exc
        except (TelegramBadRequest, TelegramForbiddenError, TelegramNotFound) as exc:
            # Chat not found, bot blocked or kicked, unparsable HTML: the same request fails again.
            raise TelegramPermanentError(exc.message) from exc
        except TelegramAPIError as exc:
            # Network errors, 5xx, and a revoked token: the operator can fix these, the recipient can't,
            # so they are retried within the attempt limit instead of failing at once.
            raise TelegramRetryableError(exc.message) from exc
        return SentMessage(chat_id=chat_id, message_id=message.message_id)

    async def close(self) -> None:
        await self._bot.session.close()


def _chat(chat_id: str) -> int | str:
    """Numeric ids go out as numbers; `@channelname` stays a string."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
