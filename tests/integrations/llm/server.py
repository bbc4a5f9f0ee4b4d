"""A local HTTP server speaking the OpenAI chat-completions protocol (JSON and SSE streaming)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Behaviour:
    pieces: list[str] = field(default_factory=lambda: ["RSI is a ", "momentum ", "indicator [1]", "."])
    delay_before: float = 0.0  # seconds before the response starts
    status: int = 200
    break_after: int | None = None  # stream this many pieces, then drop the connection
    stall_after: int | None = None  # stream this many pieces, then go silent


class ChatServer:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[tuple[dict[str, Any], dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        self._released.set()  # let stalled handlers finish so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((body, dict(request.headers)))
        b = self.behaviour
        if b.delay_before:
            await asyncio.sleep(b.delay_before)
        if b.status != 200:
            return web.json_response({"error": {"message": "boom", "type": "server_error"}}, status=b.status)
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "".join(b.pieces)}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            )  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await self._event(response, body, {"role": "assistant", "content": ""})
        for index, piece in enumerate(b.pieces):
            if b.break_after is not None and index == b.break_after:
                request.transport.close()  # type: ignore[union-attr]
                return response
            if b.stall_after is not None and index == b.stall_after:
                await self._released.wait()
                return response
            await self._event(response, body, {"content": piece})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    @staticmethod
    async def _event(response: web.StreamResponse, body: dict[str, Any], delta: dict[str, str]) -> None:
        chunk = {
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }  # fmt: skip
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
