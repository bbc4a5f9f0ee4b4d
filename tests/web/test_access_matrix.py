"""Every route called by every role and by an anonymous client must get exactly what its rule says."""

import re

import pytest
from fastapi import APIRouter

from academy.auth import tokens
from academy.auth.access import PUBLIC, SESSION_COOKIE, encode_session_cookie
from academy.auth.service import auth_service
from academy.kit import ratelimit
from academy.kit.routes import iter_routes, undeclared
from academy.kit.uow import UnitOfWork
from academy.models import Role
from tests.fixtures.app import make_user
from tests.fixtures.db import reconfigure

ACTORS = (None, *Role)

# The rules that matter most, stated independently of the code that declares them.
EXPECTED = {
    ("GET", "/api/v1/users"): {Role.admin},
    ("PUT", "/api/v1/users/{user_id}/role"): {Role.admin},
    ("POST", "/api/v1/notifications"): {Role.admin},
    ("POST", "/api/v1/auth/totp/setup"): {Role.curator, Role.expert, Role.admin},
    ("GET", "/profile/security"): {Role.curator, Role.expert, Role.admin},
    ("GET", "/api/v1/auth/me"): set(Role),
    ("GET", "/dashboard"): set(Role),
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("GET", "/dev/outbox"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/api/v1/students"): {Role.curator, Role.admin},
    ("GET", "/api/v1/students/counts"): {Role.curator, Role.admin},
    ("GET", "/api/v1/enrollments/{enrollment_id}/risk"): {Role.curator, Role.admin},
    ("GET", "/api/v1/enrollments/{enrollment_id}/nudges"): {Role.curator, Role.admin},
    ("POST", "/api/v1/enrollments/{enrollment_id}/nudges"): {Role.curator, Role.admin},
    ("GET", "/api/v1/risk-models"): {Role.curator, Role.expert, Role.admin},
    ("POST", "/api/v1/risk-models"): {Role.admin},
    ("GET", "/curator"): {Role.curator, Role.admin},
    ("GET", "/curator/notifications"): {Role.curator, Role.admin},
    ("GET", "/curator/cards"): {Role.curator, Role.admin},
    ("GET", "/curator/charts"): {Role.curator, Role.admin},
    ("GET", "/curator/students/{enrollment_id}"): {Role.curator, Role.admin},
    ("POST", "/curator/students/{enrollment_id}/nudge"): {Role.curator, Role.admin},
    ("GET", "/curator/metrics"): {Role.curator, Role.admin},
    ("GET", "/api/v1/assignments"): set(Role),
    ("POST", "/api/v1/assignments"): {Role.curator, Role.admin},
    ("GET", "/api/v1/assignments/{assignment_id}"): set(Role),
    ("PATCH", "/api/v1/assignments/{assignment_id}"): {Role.curator, Role.admin},
    ("GET", "/api/v1/assignments/{assignment_id}/status"): set(Role),
    ("POST", "/api/v1/assignments/{assignment_id}/submissions"): set(Role),
    ("GET", "/api/v1/assignments/{assignment_id}/submissions"): set(Role),
    ("GET", "/api/v1/submissions/{submission_id}"): set(Role),
    ("GET", "/api/v1/submissions/{submission_id}/file"): set(Role),
    ("POST", "/api/v1/submissions/{submission_id}/review"): {Role.curator, Role.admin},
    ("GET", "/api/v1/homework/review-queue"): {Role.curator, Role.admin},
    ("GET", "/api/v1/homework/agreement"): {Role.curator, Role.admin},
    ("GET", "/homework"): set(Role),
    ("POST", "/homework/{assignment_id}"): set(Role),
    ("GET", "/curator/reviews"): {Role.curator, Role.admin},
    ("POST", "/curator/reviews/{submission_id}/confirm"): {Role.curator, Role.admin},
    ("POST", "/curator/assignments/new"): {Role.curator, Role.admin},
    ("GET", "/api/v1/metrics/summary"): {Role.curator, Role.admin},
    ("GET", "/api/v1/metrics/retention"): {Role.curator, Role.admin},
    ("GET", "/api/v1/metrics/comparison"): {Role.curator, Role.admin},
    ("GET", "/api/v1/metrics/snapshots"): {Role.curator, Role.admin},
}


def test_every_route_declares_access(app):
    assert undeclared(app) == []


def test_a_route_without_rule_is_caught(app):
    router = APIRouter()

    @router.get("/forgotten")
    async def forgotten() -> dict:
        return {}

    app.include_router(router)
    assert undeclared(app) == ["['GET'] /forgotten"]


def test_key_routes_have_the_expected_rule(app):
    declared = {(m, r.path): r.access for r in iter_routes(app) for m in r.methods}
    for key, expected in EXPECTED.items():
        got = declared[key]
        assert (got if got == PUBLIC else set(got)) == expected, key


async def _credentials(role, user=None):
    """Fresh credentials each call: a route like /logout must not spoil the next request."""
    if role is None:
        return {}, {}
    user = user or await make_user(role=role)
    async with UnitOfWork() as uow:
        raw = await auth_service.start_web_session(uow.session, await _reload(uow, user.id))
    headers = {"Authorization": f"Bearer {tokens.create_access_token(user.id, role.value)}"}
    return headers, {SESSION_COOKIE: encode_session_cookie(raw, user.id)}


async def _reload(uow, user_id):
    from academy.user.service import user_service

    return await user_service.get(uow.session, user_id)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


async def test_role_matrix(app, new_client, monkeypatch):
    reconfigure(monkeypatch, rate_limit_enabled="false")
    ratelimit.configure(enabled=False)
    users = {role: (await make_user(role=role) if role else None) for role in ACTORS}
    routes = [r for r in iter_routes(app) if "WEBSOCKET" not in r.methods]
    assert len(routes) > 40
    checked = 0
    for info in routes:
        for method in sorted(info.methods - {"HEAD"}):
            for role in ACTORS:
                headers, cookies = await _credentials(role, users[role])
                client = new_client()
                client.cookies.set("academy_csrf", "matrix-token")
                for k, v in cookies.items():
                    client.cookies.set(k, v)
                is_api = info.path.startswith("/api/")
                kwargs = {"headers": headers} if is_api else {"headers": {"X-CSRF-Token": "matrix-token"}}
                if method in ("POST", "PUT", "PATCH") and is_api:
                    kwargs["json"] = {}
                r = await client.request(method, _concrete(info.path), **kwargs)
                allowed = info.access == PUBLIC or (role is not None and role in info.access)
                denied_anon = r.status_code == 401 or (
                    r.status_code == 303 and r.headers["location"].startswith("/login")
                )
                where = f"{method} {info.path} as {role.value if role else 'anonymous'}: {r.status_code}"
                assert r.status_code < 500, where
                if allowed:
                    assert r.status_code != 403 and not (denied_anon and info.access != PUBLIC), where
                elif role is None:
                    assert denied_anon, where
                else:
                    assert r.status_code == 403, where
                checked += 1
    assert checked > 200


@pytest.mark.parametrize("role", ACTORS, ids=lambda r: r.value if r else "anonymous")
async def test_admin_area_is_for_admins_only(client, role):
    _, cookies = await _credentials(role)
    for k, v in cookies.items():
        client.cookies.set(k, v)
    r = await client.get("/admin/")
    if role is Role.admin:
        assert r.status_code == 200 and "Academy admin" in r.text
    elif role is None:
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    else:
        assert r.status_code == 403


async def test_another_users_notification_answers_404(client):
    from academy.notification.schemas import NotificationPayload
    from academy.notification.service import notification_service

    owner, intruder = await make_user(), await make_user()
    async with UnitOfWork() as uow:
        item = await notification_service.notify(uow.session, owner.id, NotificationPayload(title="Private"))
    headers = {"Authorization": f"Bearer {tokens.create_access_token(intruder.id, 'student')}"}
    r = await client.post(f"/api/v1/notifications/{item.id}/read", headers=headers)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    own = {"Authorization": f"Bearer {tokens.create_access_token(owner.id, 'student')}"}
    assert (await client.post(f"/api/v1/notifications/{item.id}/read", headers=own)).status_code == 200
