"""Live push to open pages. In-process by default; Redis pub/sub fans out across processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import structlog

log = structlog.get_logger()
PREFIX = "academy:rt:"


class LocalHub:
    """Delivers to subscribers in this process only."""

    cross_process = False

    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subs.clear()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.deliver(channel, message)

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        for queue in list(self._subs.get(channel, ())):
            if queue.qsize() < 100:  # a stalled socket must not grow memory without bound
                queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subs[channel].add(queue)
        try:
            yield queue
        finally:
            self._subs[channel].discard(queue)
            if not self._subs[channel]:
                del self._subs[channel]

    def subscriber_count(self, channel: str) -> int:
        return len(self._subs.get(channel, ()))


class RedisHub(LocalHub):
    """Publishes through Redis; one listener per process feeds the local subscribers."""

    cross_process = True

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(self.url, decode_responses=True)
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.psubscribe(PREFIX + "*")
        self._ready.set()
        try:
            async for msg in pubsub.listen():
                if msg.get("type") != "pmessage":
                    continue
                channel = msg["channel"][len(PREFIX) :]
                try:
                    self.deliver(channel, json.loads(msg["data"]))
                except ValueError:
                    log.warning("realtime.bad_message", channel=channel)
        finally:
            await pubsub.aclose()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._redis is not None:
            await self._redis.aclose()
        await super().stop()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self._redis is None:
            from redis import asyncio as aioredis

            self._redis = aioredis.from_url(self.url, decode_responses=True)
        await self._redis.publish(PREFIX + channel, json.dumps(message))


_hub: LocalHub = LocalHub()


def configure(redis_url: str = "") -> LocalHub:
    global _hub
    _hub = RedisHub(redis_url) if redis_url else LocalHub()
    return _hub


def hub() -> LocalHub:
    return _hub


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"
