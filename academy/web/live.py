"""`/ws`: live updates for open pages, as HTMX out-of-band fragments."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from academy.auth.access import PUBLIC, SESSION_COOKIE, user_from_cookie
from academy.kit import i18n, realtime
from academy.kit.security import same_origin
from academy.kit.uow import UnitOfWork
from academy.models import User
from academy.notification.service import live_message, notification_service
from academy.web.templating import CSRF_COOKIE, csrf_field, env

log = structlog.get_logger()
router = APIRouter()
POLL_SECONDS = 3.0


async def ws_user(websocket: WebSocket) -> User | None:
    async with UnitOfWork() as uow:
        user = await user_from_cookie(uow.session, websocket.cookies.get(SESSION_COOKIE))
        if user is not None:
            uow.session.expunge(user)
        return user


ws_user.access = PUBLIC  # type: ignore[attr-defined]  # anyone may connect; anonymous sockets get closed


def fragment(message: dict[str, Any], user: User, csrf: str) -> str:
    with i18n.use_locale(user.locale):
        # The feed row carries a form; a socket has no request, so the token comes from its cookie.
        return env.get_template("components/live.html").render(
            m=message, user=user, request=None, csrf_input=lambda _request: csrf_field(csrf)
        )


async def accept_page_socket(websocket: WebSocket, user: User | None) -> bool:
    """Accept a page's socket, or close it: anonymous (4401) or opened from another site (4403)."""
    if user is None:
        await websocket.close(code=4401)
        return False
    origin = websocket.headers.get("origin")
    if origin and not same_origin(origin, websocket.headers.get("host")):
        # Cookies ride along on cross-site socket handshakes; only our own pages may listen.
        await websocket.close(code=4403)
        return False
    await websocket.accept()
    return True


@router.websocket("/ws")
async def live(websocket: WebSocket, user: User | None = Depends(ws_user)) -> None:
    if not await accept_page_socket(websocket, user):
        return
    assert user is not None
    csrf = websocket.cookies.get(CSRF_COOKIE, "")
    hub = realtime.hub()
    async with UnitOfWork() as uow:
        last_id = await notification_service.latest_id(uow.session, user)
    async with hub.subscribe(realtime.user_channel(user.id)) as queue:
        receiver = asyncio.create_task(_drain(websocket))
        try:
            while not receiver.done():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=POLL_SECONDS)
                except TimeoutError:
                    if hub.cross_process:
                        continue
                    # Without Redis, the worker process can't reach this hub: catch up from the table.
                    messages = await _missed(user, last_id)
                else:
                    messages = [message]
                for msg in messages:
                    if msg.get("type") == "notification":
                        if int(msg["id"]) <= last_id:
                            continue
                        last_id = int(msg["id"])
                    await websocket.send_text(fragment(msg, user, csrf))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver


async def _drain(websocket: WebSocket) -> None:
    # HTMX's ws extension may send form data; this page channel is push-only, so reading just detects close.
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


async def _missed(user: User, last_id: int) -> list[dict[str, Any]]:
    async with UnitOfWork() as uow:
        items = await notification_service.newer_than(uow.session, user, last_id)
        if not items:
            return []
        unread = await notification_service.unread_count(uow.session, user)
    return [live_message(n, unread) for n in items]
