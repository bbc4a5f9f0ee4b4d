"""Who may call what. Every route declares one of these; a test fails for a route that doesn't."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from academy.auth.errors import InvalidToken
from academy.auth.service import auth_service
from academy.config import get_settings
from academy.kit import ratelimit
from academy.kit.deps import UoW
from academy.kit.errors import Forbidden, Unauthorized
from academy.models import Role, User
from academy.notification.service import notification_service

SESSION_COOKIE = "academy_session"
PUBLIC = "public"


class LoginRequired(Unauthorized):
    """Raised on pages; the page error handler turns it into a redirect to the login page."""


def session_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt="academy.session")


def encode_session_cookie(token: str, user_id: int) -> str:
    return session_serializer().dumps({"t": token, "u": user_id})


def session_token(cookie: str | None) -> str | None:
    """The server-side session token inside a signed session cookie, if the signature holds."""
    if not cookie:
        return None
    try:
        data = session_serializer().loads(cookie)
    except BadSignature:
        return None
    return str(data["t"]) if isinstance(data, dict) and "t" in data else None


async def user_from_cookie(session: AsyncSession, cookie: str | None) -> User | None:
    """The signed-in user of a browser (pages, the WebSocket and the admin area all ask this)."""
    token = session_token(cookie)
    return await auth_service.user_from_web_session(session, token) if token else None


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def resolve_user(request: Request, uow: UoW) -> User | None:
    """The caller: bearer token on the API, session cookie on pages and the WebSocket."""
    if hasattr(request.state, "user"):
        return request.state.user
    user: User | None = None
    if is_api(request):
        token = bearer_token(request)
        if token:
            user = await auth_service.user_from_access_token(uow.session, token)
    else:
        user = await user_from_cookie(uow.session, request.cookies.get(SESSION_COOKIE))
        if user is not None:
            request.state.unread = await notification_service.unread_count(uow.session, user)
    request.state.user = user
    return user


AccessDependency = Callable[..., Awaitable[Any]]


def _mark(fn: AccessDependency, access: frozenset[Role] | str) -> AccessDependency:
    fn.access = access  # type: ignore[attr-defined]
    return fn


async def _public(request: Request, uow: UoW) -> User | None:
    try:
        user = await resolve_user(request, uow)
    except InvalidToken:
        if is_api(request):
            raise
        user = None
    key = ("user", str(user.id)) if user else ("ip", request.client.host if request.client else "unknown")
    await ratelimit.limiter().hit(get_settings().rate_limit_default, *key)
    return user


public = _mark(_public, PUBLIC)
"""Anyone, signed in or not; yields the user when there is one."""

_cache: dict[frozenset[Role], AccessDependency] = {}


def require(*roles: Role) -> AccessDependency:
    """A dependency that yields the signed-in user if their role is one of `roles`."""
    allowed = frozenset(roles or tuple(Role))
    if allowed in _cache:
        return _cache[allowed]

    async def dependency(request: Request, uow: UoW) -> User:
        user = await resolve_user(request, uow)
        if user is None:
            raise Unauthorized() if is_api(request) else LoginRequired()
        if Role(user.role) not in allowed:
            raise Forbidden()
        await ratelimit.limiter().hit(get_settings().rate_limit_default, "user", str(user.id))
        return user

    dependency.__name__ = "require_" + "_".join(sorted(r.value for r in allowed))
    _cache[allowed] = _mark(dependency, allowed)
    return _cache[allowed]


signed_in = require()
staff = require(Role.curator, Role.expert, Role.admin)
admin_only = require(Role.admin)


def strict_limit(setting: str) -> AccessDependency:
    """Extra per-client limit for endpoints attackers hammer (login, sign-up, reset)."""

    async def dependency(request: Request) -> None:
        rule = getattr(get_settings(), setting)
        client = request.client.host if request.client else "unknown"
        await ratelimit.limiter().hit(rule, setting, client)

    dependency.__name__ = f"limit_{setting}"
    return dependency


async def _probe() -> None:
    return None


probe = _mark(_probe, PUBLIC)
"""Anyone, without looking up a user or counting a rate limit: health checks and metrics scrapes."""
