"""Instruments with stored bars, browsers with a session cookie, and an in-process WebSocket client."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI

from academy.auth.access import SESSION_COOKIE, encode_session_cookie
from academy.auth.service import auth_service
from academy.kit.uow import UnitOfWork
from academy.models import Instrument, User
from academy.trading.market_data.service import market_data_service
from academy.user.service import user_service
from tests.trading.conftest import make_bars

BARS = 800


def hourly(n: int = BARS, seed: int = 3, start: str = "2024-01-01") -> pd.DataFrame:
    frame = make_bars(n, seed=seed, freq="1h")
    frame.index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="open_time")
    return frame


async def add_instrument(
    symbol: str = "BTCUSD-SIM", *, simulated: bool = True, active: bool = True, asset_class: str = "crypto"
) -> Instrument:
    async with UnitOfWork() as uow:
        return await market_data_service.ensure_instrument(
            uow.session,
            symbol=symbol,
            venue="SIM" if simulated else "TESTX",
            asset_class=asset_class,
            tick_size=0.01,
            quote_currency="USD",
            simulated=simulated,
            active=active,
        )


async def store_bars(instrument: Instrument, frame: pd.DataFrame, timeframe: str = "1h") -> None:
    async with UnitOfWork() as uow:
        await market_data_service.upsert_bars(uow.session, instrument, timeframe, frame)


@pytest.fixture
async def market(settings: Any) -> tuple[Instrument, pd.DataFrame]:
    """A simulated instrument with BARS hourly bars (and a few daily ones)."""
    instrument = await add_instrument()
    bars = hourly()
    await store_bars(instrument, bars)
    await store_bars(instrument, make_bars(30, seed=9), "1d")
    return instrument, bars


async def session_cookie(user: User) -> str:
    async with UnitOfWork() as uow:
        fresh = await user_service.get(uow.session, user.id)
        raw = await auth_service.start_web_session(uow.session, fresh)
    return f"{SESSION_COOKIE}={encode_session_cookie(raw, user.id)}"


class Refused(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"socket closed before accept with code {code}")
        self.code = code


class AsgiSocket:
    """A WebSocket client that drives the ASGI app on the test's own event loop, so the in-process
    hub the app subscribes to is the one the test's commits publish on."""

    def __init__(
        self, app: FastAPI, path: str, *, cookie: str = "", origin: str = "http://testserver"
    ) -> None:
        headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self.app = app
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsgiSocket:
        self.task = asyncio.create_task(self.app(self.scope, self.incoming.get, self.outgoing.put))
        await self.incoming.put({"type": "websocket.connect"})
        first = await asyncio.wait_for(self.outgoing.get(), timeout=5)
        if first["type"] == "websocket.close":
            await asyncio.wait_for(self.task, timeout=5)
            raise Refused(first.get("code"))
        assert first["type"] == "websocket.accept", first
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.incoming.put({"type": "websocket.disconnect", "code": 1000})
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)

    async def send_text(self, text: str) -> None:
        await self.incoming.put({"type": "websocket.receive", "text": text})

    async def send_json(self, data: Any) -> None:
        await self.send_text(json.dumps(data))

    async def receive_json(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await asyncio.wait_for(self.outgoing.get(), timeout=timeout)
        assert message["type"] == "websocket.send", message
        return dict(json.loads(message["text"]))

    async def nothing_for(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.outgoing.get(), timeout=seconds)
        except TimeoutError:
            return True
        return False
