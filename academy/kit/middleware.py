"""Pure ASGI middleware: request id, structured access log, Prometheus metrics, locale, CSRF cookie."""

from __future__ import annotations

import time
import uuid
from http.cookies import SimpleCookie

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from academy.kit import i18n
from academy.kit.metrics import LATENCY, REQUESTS

log = structlog.get_logger("academy.http")
LANG_COOKIE = "academy_lang"
_QUIET = ("/static/", "/healthz", "/readyz", "/metrics", "/media/")


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return {}
            return {k: m.value for k, m in jar.items()}
    return {}


def _header(scope: Scope, key: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == key:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, csrf_cookie: str, secure_cookies: bool) -> None:
        self.app = app
        self.csrf_cookie = csrf_cookie
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        if len(request_id) > 64:
            request_id = uuid.uuid4().hex
        cookies = _cookies(scope)
        locale = cookies.get(LANG_COOKIE) or i18n.negotiate(_header(scope, b"accept-language")) or "en"
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})
        path: str = scope.get("path", "")
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                csrf = scope["state"].get("csrf_token")
                if csrf and cookies.get(self.csrf_cookie) != csrf:
                    secure = "; Secure" if self.secure else ""
                    headers.append(
                        "set-cookie", f"{self.csrf_cookie}={csrf}; Path=/; HttpOnly; SameSite=Lax{secure}"
                    )
            await send(message)

        try:
            with i18n.use_locale(locale):
                await self.app(scope, receive, send_wrapper)
        finally:
            if scope["type"] == "http":
                route = scope.get("route")
                label = getattr(route, "path", None) or (
                    "static" if path.startswith("/static") else "unmatched"
                )
                elapsed = time.perf_counter() - started
                REQUESTS.labels(scope["method"], label, str(status)).inc()
                LATENCY.labels(scope["method"], label).observe(elapsed)
                if not path.startswith(_QUIET):
                    log.info(
                        "http.request",
                        method=scope["method"],
                        path=path,
                        status=status,
                        ms=round(elapsed * 1000, 1),
                    )
            structlog.contextvars.unbind_contextvars("request_id")
