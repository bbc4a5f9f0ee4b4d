"""`/ws/lab`: live JSON for trading-lab pages.

A page sends `{"subscribe": ["bars:12:1h", ...]}` (and `{"unsubscribe": [...]}`). A topic is
`<kind>:<key>`; its kind (a `TopicKind` in `TOPICS`) decides who may follow it, which hub channel
carries it, and how to catch up from the database when the hub cannot reach this process (no Redis:
the worker that stores bars runs elsewhere). The server answers `{"type": "subscribed", "topic"}` or
`{"type": "refused", "topic", "reason": "unknown" | "forbidden" | "limit"}`, then forwards each
message of the topic with its `topic` added.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from academy.kit import realtime
from academy.kit.db import AsyncSession
from academy.kit.errors import NotFound
from academy.kit.uow import UnitOfWork
from academy.models import User
from academy.trading.market_data.service import LIVE_BARS, bar_messages, bars_channel, market_data_service
from academy.trading.market_data.timeframes import TIMEFRAMES
from academy.web.live import accept_page_socket, ws_user

log = structlog.get_logger()
router = APIRouter()
POLL_SECONDS = 3.0
MAX_TOPICS = 20  # per socket: every topic holds a hub subscription and, without Redis, a poll
MAX_TOPIC_LENGTH = 100
Message = dict[str, Any]


class TopicKind(ABC):
    """One kind of live topic. Keys come from the browser: treat them as untrusted text."""

    @abstractmethod
    def hub_channel(self, key: str) -> str:
        """The hub channel whose messages this topic forwards (called only after `authorize`)."""

    @abstractmethod
    async def authorize(self, session: AsyncSession, user: User, key: str) -> bool:
        """Whether `user` may follow the topic; False also for a malformed or unknown key."""

    @abstractmethod
    async def catch_up(
        self, session: AsyncSession, user: User, key: str, cursor: Any
    ) -> tuple[list[Message], Any]:
        """Messages stored after `cursor`, and the cursor after them. With cursor None: no messages,
        and the cursor of "now" (called once when the topic is subscribed)."""

    def seen(self, key: str, cursor: Any, message: Message) -> Any:
        """The cursor after forwarding `message` from the hub, so catching up does not repeat it."""
        return cursor


class BarsTopic(TopicKind):
    """`bars:<instrument id>:<timeframe>`: closed bars as they are stored; any signed-in user."""

    # Before every real bar, so the first bar ever stored is caught up as well.
    _START = datetime(1970, 1, 1, tzinfo=UTC)

    @staticmethod
    def parse(key: str) -> tuple[int, str] | None:
        instrument, _, timeframe = key.partition(":")
        if not instrument.isdigit() or len(instrument) > 18 or timeframe not in TIMEFRAMES:
            return None
        return int(instrument), timeframe

    def _parsed(self, key: str) -> tuple[int, str]:
        parsed = self.parse(key)
        if parsed is None:
            raise ValueError(f"malformed bars topic key {key!r}")
        return parsed

    def hub_channel(self, key: str) -> str:
        return bars_channel(*self._parsed(key))

    async def authorize(self, session: AsyncSession, user: User, key: str) -> bool:
        parsed = self.parse(key)
        if parsed is None:
            return False
        try:
            await market_data_service.instrument(session, parsed[0])
        except NotFound:
            return False
        return True

    async def catch_up(
        self, session: AsyncSession, user: User, key: str, cursor: Any
    ) -> tuple[list[Message], Any]:
        instrument_id, timeframe = self._parsed(key)
        if cursor is None:
            last = await market_data_service.last_bar_time(session, instrument_id, timeframe)
            return [], last or self._START
        bars = await market_data_service.bars_after(session, instrument_id, timeframe, cursor, LIVE_BARS)
        if bars.empty:
            return [], cursor
        return bar_messages(instrument_id, timeframe, bars), bars.index[-1].to_pydatetime()

    def seen(self, key: str, cursor: Any, message: Message) -> Any:
        opened = datetime.fromtimestamp(int(message["bar"]["time"]), UTC)
        return max(cursor, opened) if cursor is not None else opened


TOPICS: dict[str, TopicKind] = {"bars": BarsTopic()}


def register(name: str, kind: TopicKind) -> None:
    """Add a topic kind (e.g. from the module that owns its data)."""
    if name in TOPICS and TOPICS[name] is not kind:
        raise ValueError(f"topic kind {name!r} is already registered")
    TOPICS[name] = kind


class LabSocket:
    def __init__(self, websocket: WebSocket, user: User) -> None:
        self.websocket = websocket
        self.user = user
        self.follows: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def send(self, message: Message) -> None:
        # Topic tasks and the request loop all write; one frame at a time.
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(message))

    async def run(self) -> None:
        try:
            while True:
                text = await self.websocket.receive_text()
                await self.handle(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for task in self.follows.values():
                task.cancel()
            for task in self.follows.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def handle(self, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            await self.send({"type": "error", "detail": 'Send JSON such as {"subscribe": ["bars:1:1h"]}'})
            return
        if not isinstance(request, dict):
            await self.send({"type": "error", "detail": "Send a JSON object"})
            return
        for action in ("unsubscribe", "subscribe"):
            topics = request.get(action, [])
            if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
                await self.send({"type": "error", "detail": f"'{action}' takes a list of topics"})
                return
            for topic in topics[:MAX_TOPICS]:
                await (self.subscribe(topic) if action == "subscribe" else self.unsubscribe(topic))

    async def unsubscribe(self, topic: str) -> None:
        task = self.follows.pop(topic, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await self.send({"type": "unsubscribed", "topic": topic})

    async def subscribe(self, topic: str) -> None:
        if topic in self.follows:
            await self.send({"type": "subscribed", "topic": topic})
            return
        name, _, key = topic[:MAX_TOPIC_LENGTH].partition(":")
        kind = TOPICS.get(name) if len(topic) <= MAX_TOPIC_LENGTH else None
        if kind is None:
            await self.send({"type": "refused", "topic": topic, "reason": "unknown"})
            return
        if len(self.follows) >= MAX_TOPICS:
            await self.send({"type": "refused", "topic": topic, "reason": "limit"})
            return
        async with UnitOfWork() as uow:
            allowed = await kind.authorize(uow.session, self.user, key)
        if not allowed:
            log.info("lab.topic_refused", user_id=self.user.id, topic=topic)
            await self.send({"type": "refused", "topic": topic, "reason": "forbidden"})
            return
        ready = asyncio.Event()
        self.follows[topic] = asyncio.create_task(self.follow(topic, kind, key, ready))
        # Answer once the hub subscription stands: a page that reloads what it missed on
        # "subscribed" then loses nothing in between.
        await ready.wait()
        task = self.follows[topic]
        if task.done():
            self.follows.pop(topic)
            error = None if task.cancelled() else task.exception()
            log.warning("lab.topic_failed", topic=topic, exc_info=error)
            await self.send({"type": "error", "topic": topic, "detail": "This topic is unavailable now"})
            return
        await self.send({"type": "subscribed", "topic": topic})

    async def follow(self, topic: str, kind: TopicKind, key: str, ready: asyncio.Event) -> None:
        hub = realtime.hub()
        try:
            async with hub.subscribe(kind.hub_channel(key)) as queue:
                async with UnitOfWork() as uow:
                    _, cursor = await kind.catch_up(uow.session, self.user, key, None)
                ready.set()
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), timeout=POLL_SECONDS)
                    except TimeoutError:
                        if hub.cross_process:
                            continue
                        messages, cursor = await self._catch_up(kind, key, cursor, topic)
                    else:
                        cursor = kind.seen(key, cursor, message)
                        messages = [message]
                    for item in messages:
                        await self.send({**item, "topic": topic})
        finally:
            ready.set()

    async def _catch_up(
        self, kind: TopicKind, key: str, cursor: Any, topic: str
    ) -> tuple[list[Message], Any]:
        try:
            async with UnitOfWork() as uow:
                return await kind.catch_up(uow.session, self.user, key, cursor)
        except Exception:  # a busy database now is no reason to drop the topic; the next poll retries
            log.warning("lab.catch_up_failed", topic=topic, exc_info=True)
            return [], cursor


@router.websocket("/ws/lab")
async def lab_live(websocket: WebSocket, user: User | None = Depends(ws_user)) -> None:
    if not await accept_page_socket(websocket, user):
        return
    assert user is not None
    await LabSocket(websocket, user).run()
