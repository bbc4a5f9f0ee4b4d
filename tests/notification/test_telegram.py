"""Telegram delivery: the outbox, the recording client, the Bot API adapter against a local server."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web
from pydantic import ValidationError

from academy.config import Settings, TelegramBackend
from academy.integrations.telegram import (
    TelegramPermanentError,
    TelegramRetryableError,
    telegram_client,
)
from academy.integrations.telegram.bot_api import BotApiClient
from academy.integrations.telegram.recording import RecordingTelegramClient
from academy.kit import clock
from academy.kit.errors import Unprocessable
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import TelegramMessage, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import TELEGRAM_MAX_ATTEMPTS, notification_service
from tests.fixtures.app import api_login, csrf, make_user, page_login
from tests.fixtures.db import reconfigure

TOKEN = "123456:TEST-bot-token"


async def _link_telegram(user: User, telegram_id: int) -> None:
    async with UnitOfWork() as uow:
        row = await uow.session.get(User, user.id)
        assert row is not None
        row.telegram_id = telegram_id


async def _messages() -> list:
    async with UnitOfWork() as uow:
        page = await notification_service.telegram_messages(uow.session, PageParams(page=1, size=100))
    return page.items


async def _message(message_id: int) -> TelegramMessage:
    async with UnitOfWork() as uow:
        row = await uow.session.get(TelegramMessage, message_id)
        assert row is not None
        uow.session.expunge(row)
        return row


async def test_notify_reaches_linked_telegram_through_the_recording_client(client):
    user = await make_user()
    await _link_telegram(user, 4242)
    async with UnitOfWork() as uow:
        await notification_service.notify(
            uow.session,
            user.id,
            NotificationPayload(kind="homework", title="Graded <9/10>", body="Well & done", link="/hw/1"),
        )
        assert not await _messages(), "nothing is written before the commit"
    (message,) = await _messages()
    assert (message.chat_id, message.kind, message.user_id, message.status) == (
        "4242",
        "homework",
        user.id,
        "sent",
    )
    assert message.text.startswith("<b>Graded &lt;9/10&gt;</b>")
    assert "Well &amp; done" in message.text and 'href="http://testserver/hw/1"' in message.text
    assert message.attempts == 1 and message.sent_at is not None

    async with UnitOfWork() as uow:
        assert await notification_service.deliver_telegram(uow.session, message.id) == "skipped"
    assert (await _message(message.id)).attempts == 1, "a sent message is never sent again"

    page = await client.get("/dev/telegram")
    assert page.status_code == 200
    assert 'data-testid="telegram-chat">4242<' in page.text
    assert 'data-testid="telegram-status">sent<' in page.text
    assert "<b>Graded &lt;9/10&gt;</b>" in page.text
    assert 'href="http://testserver/hw/1" rel="noopener noreferrer nofollow"' in page.text


async def test_dev_page_sanitizes_newest_first_paginates_and_hides_in_production(client, monkeypatch):
    async with UnitOfWork() as uow:
        for n in range(21):
            await notification_service.send_telegram(
                uow.session, chat_id="@school", text=f"<i>post {n}</i>", kind="signals"
            )
        await notification_service.send_telegram(
            uow.session,
            chat_id="@school",
            text='<b>hi</b><script>alert(1)</script><a href="javascript:alert(2)">x</a>',
            kind="signals",
        )
    first = await client.get("/dev/telegram")
    assert first.text.index("<b>hi</b>") < first.text.index("<i>post 20</i>")
    assert "<script>" not in first.text and "javascript:" not in first.text
    assert first.text.count('data-testid="telegram-message"') == 20 and "1 / 2" in first.text
    second = await client.get("/dev/telegram?page=2")
    assert "<i>post 1</i>" in second.text and "<i>post 0</i>" in second.text
    assert "<i>post 2</i>" not in second.text
    assert 'href="/dev/telegram"' in first.text, "the nav links to the page"
    reconfigure(monkeypatch, environment="production")
    assert (await client.get("/dev/telegram")).status_code == 404


async def test_preferences_turn_telegram_off_per_kind(client):
    user = await make_user()
    await _link_telegram(user, 77)
    headers = await api_login(client, user.email)
    prefs = await client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"telegram": {"homework": False}}
    )
    assert prefs.status_code == 200
    by_kind = {p["kind"]: p for p in prefs.json()}
    assert by_kind["homework"]["telegram"] is False and by_kind["homework"]["email"] is True
    assert by_kind["learning"]["telegram"] is True and by_kind["signals"]["digest"] is False
    async with UnitOfWork() as uow:
        await notification_service.notify(
            uow.session, user.id, NotificationPayload(kind="homework", title="Off")
        )
        await notification_service.notify(
            uow.session, user.id, NotificationPayload(kind="learning", title="On")
        )
        await notification_service.notify(
            uow.session, user.id, NotificationPayload(kind="learning", title="Caller says no"), telegram=False
        )
    assert [m.text for m in await _messages()] == ["<b>On</b>"]
    bad = await client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"telegram": {"x": True}}
    )
    assert bad.status_code == 422


async def test_no_linked_telegram_means_no_message(client):
    user = await make_user()
    async with UnitOfWork() as uow:
        await notification_service.notify(uow.session, user.id, NotificationPayload(title="Email only"))
    assert await _messages() == []


async def test_settings_page_saves_every_channel(client):
    user = await make_user()
    await page_login(client, user.email)
    page = await client.get("/notifications")
    assert 'name="telegram_homework"' in page.text and 'name="digest_homework"' in page.text
    assert 'name="digest_account"' not in page.text, "account mail is never held for a digest"
    assert "link Telegram in your profile" in page.text
    form = {
        "csrf_token": await csrf(client, "/notifications"),
        "email_learning": "on",
        "digest_learning": "on",
    }
    form |= {"telegram_homework": "on", "email_homework": "on"}
    saved = await client.post("/notifications/preferences", data=form)
    assert saved.status_code == 303
    async with UnitOfWork() as uow:
        prefs = {p.kind: p for p in await notification_service.preferences(uow.session, user)}
    assert (prefs["learning"].email, prefs["learning"].digest, prefs["learning"].telegram) == (
        True,
        True,
        False,
    )
    assert (prefs["homework"].email, prefs["homework"].digest, prefs["homework"].telegram) == (
        True,
        False,
        True,
    )
    assert (prefs["system"].email, prefs["system"].telegram) == (False, False)
    assert prefs["account"].email is True and prefs["account"].digest is False


async def test_send_telegram_rejects_what_cannot_be_a_message(client):
    async with UnitOfWork() as uow:
        for kwargs in (
            {"chat_id": " ", "text": "x", "kind": "signals"},
            {"chat_id": "1", "text": "  ", "kind": "signals"},
            {"chat_id": "1", "text": "x", "kind": ""},
            {"chat_id": "1" * 65, "text": "x", "kind": "signals"},
        ):
            with pytest.raises(Unprocessable):
                await notification_service.send_telegram(uow.session, **kwargs)


async def test_recording_client_refuses_what_telegram_refuses():
    client = RecordingTelegramClient()
    first, second = await client.send_text("1", "<b>a</b>"), await client.send_text("1", "b")
    assert first.message_id != second.message_id
    with pytest.raises(TelegramPermanentError, match="empty"):
        await client.send_text("1", "<b> </b>")
    with pytest.raises(TelegramPermanentError, match="too long"):
        await client.send_text("1", "x" * 4097)
    # Entities count as one character each, as Telegram counts them.
    assert await client.send_text("1", "&amp;" * 4096)


def test_backend_choice(tmp_path):
    def settings(**values) -> Settings:
        return Settings(data_dir=tmp_path, secret_key="x" * 40, **values)

    assert settings(telegram_bot_token=TOKEN).telegram_sends is TelegramBackend.recording
    production = settings(environment="production", telegram_bot_token=TOKEN)
    assert production.telegram_sends is TelegramBackend.bot_api
    assert settings(environment="production").telegram_sends is TelegramBackend.recording
    assert not any("TELEGRAM" in p for p in settings(environment="production").production_problems())
    forced = settings(telegram_bot_token=TOKEN, telegram_backend="bot_api")
    assert isinstance(telegram_client(forced), BotApiClient)
    assert isinstance(telegram_client(settings(telegram_bot_token=TOKEN)), RecordingTelegramClient)
    with pytest.raises(ValidationError, match="needs ACADEMY_TELEGRAM_BOT_TOKEN"):
        settings(telegram_backend="bot_api")


@dataclass
class FakeBotApi:
    """A local HTTP server speaking the Bot API's sendMessage, answering from a script of replies."""

    url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    replies: list[tuple[int, dict]] = field(default_factory=list)

    def reply(self, status: int, **body) -> None:
        self.replies.append((status, body))

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append((request.path, {k: str(v) for k, v in form.items()}))
        status, body = self.replies.pop(0) if self.replies else (200, {})
        if status == 200 and not body:
            body = {
                "ok": True,
                "result": {
                    "message_id": 1000 + len(self.requests),
                    "date": 1_700_000_000,
                    "chat": {"id": int(form["chat_id"]), "type": "private"},
                    "text": form["text"],
                },
            }
        return web.json_response(body, status=status)


@pytest.fixture
async def bot_api(settings, monkeypatch) -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    app = web.Application()
    app.router.add_post("/{path:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    reconfigure(monkeypatch, telegram_backend="bot_api", telegram_api_url=fake.url)
    yield fake
    await runner.cleanup()


async def _send(chat_id: str = "4242", text: str = "<b>Hello</b>") -> int:
    async with UnitOfWork() as uow:
        message = await notification_service.send_telegram(
            uow.session, chat_id=chat_id, text=text, kind="system"
        )
    return message.id


async def test_bot_api_adapter_speaks_send_message(bot_api):
    message_id = await _send("-1001234", "<b>Hello</b> &amp; welcome")
    row = await _message(message_id)
    assert row.status == "sent" and row.last_error is None
    ((path, form),) = bot_api.requests
    assert path == f"/bot{TOKEN}/sendMessage"
    assert form["chat_id"] == "-1001234" and form["text"] == "<b>Hello</b> &amp; welcome"
    assert form["parse_mode"] == "HTML"
    assert json.loads(form["link_preview_options"]) == {"is_disabled": True}


async def test_bot_api_errors_are_typed():
    fake = FakeBotApi()
    app = web.Application()
    app.router.add_post("/{path:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    client = BotApiClient(TOKEN, api_url=f"http://127.0.0.1:{runner.addresses[0][1]}")
    cases = [
        (400, "Bad Request: chat not found", {}, TelegramPermanentError),
        (403, "Forbidden: bot was blocked by the user", {}, TelegramPermanentError),
        (429, "Too Many Requests: retry after 7", {"retry_after": 7}, TelegramRetryableError),
        (502, "Bad Gateway", {}, TelegramRetryableError),
        (401, "Unauthorized", {}, TelegramRetryableError),
    ]
    try:
        for status, description, parameters, error in cases:
            body = {"ok": False, "error_code": status, "description": description}
            fake.reply(status, **body, **({"parameters": parameters} if parameters else {}))
            with pytest.raises(error) as caught:
                await client.send_text("1", "x")
            assert description in str(caught.value)
        fake.reply(429, ok=False, error_code=429, description="Too Many", parameters={"retry_after": 7})
        with pytest.raises(TelegramRetryableError) as flood:
            await client.send_text("1", "x")
        assert flood.value.retry_after == 7
    finally:
        await client.close()
        await runner.cleanup()
    unreachable = BotApiClient(TOKEN, api_url="http://127.0.0.1:9", timeout=2)
    try:
        with pytest.raises(TelegramRetryableError):
            await unreachable.send_text("1", "x")
    finally:
        await unreachable.close()


async def test_permanent_failure_is_final(bot_api):
    bot_api.reply(403, ok=False, error_code=403, description="Forbidden: bot was blocked by the user")
    message_id = await _send()
    row = await _message(message_id)
    assert (row.status, row.attempts) == ("failed", 1) and "blocked" in (row.last_error or "")
    with clock.frozen(row.created_at + timedelta(days=1)):
        async with UnitOfWork() as uow:
            assert await notification_service.retry_telegram(uow.session) == 0
    assert len(bot_api.requests) == 1


async def test_retryable_failure_waits_for_its_backoff_then_sends(bot_api):
    bot_api.reply(502, ok=False, error_code=502, description="Bad Gateway")
    message_id = await _send()
    row = await _message(message_id)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "Bad Gateway")
    async with UnitOfWork() as uow:
        assert await notification_service.retry_telegram(uow.session) == 0, "too early"
    with clock.frozen(row.created_at + timedelta(minutes=2)):
        async with UnitOfWork() as uow:
            assert await notification_service.retry_telegram(uow.session) == 1
    row = await _message(message_id)
    assert (row.status, row.attempts) == ("sent", 2) and len(bot_api.requests) == 2


async def test_retries_stop_after_the_last_attempt(bot_api):
    for _ in range(TELEGRAM_MAX_ATTEMPTS + 1):
        bot_api.reply(500, ok=False, error_code=500, description="Internal Server Error")
    message_id = await _send()
    created = (await _message(message_id)).created_at
    with clock.frozen(created + timedelta(days=1)):
        for _ in range(TELEGRAM_MAX_ATTEMPTS):
            async with UnitOfWork() as uow:
                await notification_service.retry_telegram(uow.session)
    row = await _message(message_id)
    assert (row.status, row.attempts) == ("failed", TELEGRAM_MAX_ATTEMPTS)
    assert len(bot_api.requests) == TELEGRAM_MAX_ATTEMPTS


async def test_a_message_no_job_picked_up_is_sent_by_the_retry(client):
    async with UnitOfWork() as uow:
        uow.session.add(TelegramMessage(chat_id="5", kind="system", text="lost", status="queued", attempts=0))
    (lost,) = await _messages()
    async with UnitOfWork() as uow:
        assert await notification_service.retry_telegram(uow.session) == 0, "its own job may still run"
    with clock.frozen(lost.created_at + timedelta(minutes=11)):
        async with UnitOfWork() as uow:
            assert await notification_service.retry_telegram(uow.session) == 1
    assert (await _message(lost.id)).status == "sent"
