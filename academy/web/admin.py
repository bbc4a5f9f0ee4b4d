"""The admin area (sqladmin) at /admin, for admins only, behind the same cookie session as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from academy.auth.access import SESSION_COOKIE, user_from_cookie
from academy.config import get_settings
from academy.kit.security import same_origin
from academy.kit.uow import UnitOfWork
from academy.models import Email, Notification, Role, User


class AdminAuth(AuthenticationBackend):
    async def login(self, request: Request) -> bool:
        return False

    async def logout(self, request: Request) -> Response:
        return RedirectResponse("/", status_code=303)

    async def authenticate(self, request: Request) -> Response | bool:
        async with UnitOfWork() as uow:
            user = await user_from_cookie(uow.session, request.cookies.get(SESSION_COOKIE))
        if user is None:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if user.role != Role.admin.value:
            return Response("Admins only", status_code=403)
        # sqladmin's forms carry no CSRF token; SameSite=Lax cookies plus a same-origin check cover them.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("origin") or request.headers.get("referer")
            if not same_origin(origin, request.url.netloc):
                return Response("Cross-site request refused", status_code=403)
        return True


class UserAdmin(ModelView, model=User):
    column_list = [User.id, User.email, User.name, User.role, User.is_active, User.created_at]
    column_searchable_list = [User.email, User.name]
    column_sortable_list = [User.id, User.email, User.created_at]
    form_excluded_columns = [User.password_hash, User.totp_secret]
    column_details_exclude_list = [User.password_hash, User.totp_secret]
    icon = "fa-solid fa-user"


class NotificationAdmin(ModelView, model=Notification):
    column_list = [
        Notification.id,
        Notification.user_id,
        Notification.kind,
        Notification.title,
        Notification.created_at,
    ]
    can_edit = False


class EmailAdmin(ModelView, model=Email):
    column_list = [Email.id, Email.to_address, Email.subject, Email.status, Email.created_at]
    can_edit = False
    can_create = False


def mount_admin(app: FastAPI, session_maker: async_sessionmaker[AsyncSession]) -> Any:
    admin = Admin(
        app,
        session_maker=session_maker,
        authentication_backend=AdminAuth(secret_key=get_settings().secret_key),
        title="Academy admin",
        base_url="/admin",
    )
    for view in (UserAdmin, NotificationAdmin, EmailAdmin):
        admin.add_view(view)
    return admin
