from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from academy.kit.errors import TooManyRequests


class RateLimiter:
    def __init__(self, redis_url: str = "", *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.storage: Storage = (
            storage_from_string("async+" + redis_url, implementation="redispy")  # type: ignore[assignment]
            if redis_url
            else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, rule: str, *keys: str) -> None:
        """Count one request against `rule` (e.g. "100/minute"); raise 429 with Retry-After when over."""
        if not self.enabled:
            return
        item = parse(rule)
        if await self.limiter.hit(item, *keys):
            return
        stats = await self.limiter.get_window_stats(item, *keys)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(retry_after)

    async def reset(self) -> None:
        await self.storage.reset()


_limiter = RateLimiter()


def configure(redis_url: str = "", *, enabled: bool = True) -> RateLimiter:
    global _limiter
    _limiter = RateLimiter(redis_url, enabled=enabled)
    return _limiter


def limiter() -> RateLimiter:
    return _limiter
