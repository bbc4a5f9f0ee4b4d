"""Attacks on API tokens must all be refused."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt

from academy.kit.uow import UnitOfWork
from academy.user.service import user_service
from tests.fixtures.app import PASSWORD, make_user
from tests.fixtures.db import TEST_SECRET


async def _login(client, email):
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200
    return r.json()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _me(client, token):
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_valid_access_token_works(client):
    user = await make_user()
    tokens = await _login(client, user.email)
    assert (await _me(client, tokens["access_token"])).status_code == 200


async def test_alg_none_is_rejected(client):
    user = await make_user()
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": str(user.id), "typ": "access", "iat": now, "exp": now + 600, "role": "admin"}
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    r = await _me(client, forged)
    assert r.status_code == 401 and r.json()["error"] == "InvalidToken"


async def test_wrong_key_is_rejected(client):
    user = await make_user()
    now = datetime.now(UTC)
    claims = {"sub": str(user.id), "typ": "access", "iat": now, "exp": now + timedelta(minutes=5)}
    forged = jwt.encode(claims, "another-secret-key-of-the-same-length-as-ours-000000", algorithm="HS256")
    assert (await _me(client, forged)).status_code == 401


async def test_expired_token_is_rejected(client):
    user = await make_user()
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {"sub": str(user.id), "typ": "access", "iat": past, "exp": past + timedelta(minutes=15)}
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    r = await _me(client, expired)
    assert r.status_code == 401 and "expired" in r.json()["detail"].lower()


async def test_token_without_type_or_of_other_type_is_rejected(client):
    user = await make_user()
    now = datetime.now(UTC)
    for typ in (None, "refresh"):
        claims = {"sub": str(user.id), "iat": now, "exp": now + timedelta(minutes=5)}
        if typ:
            claims["typ"] = typ
        assert (await _me(client, jwt.encode(claims, TEST_SECRET, algorithm="HS256"))).status_code == 401


async def test_access_token_cannot_be_used_as_refresh_token(client):
    user = await make_user()
    tokens = await _login(client, user.email)
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert r.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client):
    user = await make_user()
    first = await _login(client, user.email)
    other_login = await _login(client, user.email)  # a second device: a different family

    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await _me(client, second["access_token"])).status_code == 200

    reuse = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["error"] == "TokenReuseDetected"
    # The thief's stolen token and the legitimate latest one are both dead now...
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).status_code == 401
    # ...but the other device's sign-in is untouched.
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": other_login["refresh_token"]})
    ).status_code == 200


async def test_logout_revokes_refresh_token(client):
    user = await make_user()
    tokens = await _login(client, user.email)
    assert (
        await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 200
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401


async def test_token_of_deleted_user_is_rejected(client):
    user = await make_user()
    tokens = await _login(client, user.email)
    async with UnitOfWork() as uow:
        await uow.session.delete(await user_service.get(uow.session, user.id))
    assert (await _me(client, tokens["access_token"])).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401


async def test_garbage_bearer_is_rejected_even_on_public_api_routes(client):
    r = await client.post(
        "/api/v1/auth/password-reset",
        json={"email": "a@example.com"},
        headers={"Authorization": "Bearer x.y.z"},
    )
    assert r.status_code == 401


async def test_two_simultaneous_refreshes_of_one_token_cannot_both_win(client):
    from academy.auth.errors import TokenReuseDetected
    from academy.auth.service import auth_service

    user = await make_user()
    token = (await _login(client, user.email))["refresh_token"]
    # Request A has read the token (still unused) when request B rotates it and commits.
    slow = UnitOfWork()
    async with slow:
        from academy.auth.repository import RefreshTokenRepository
        from academy.kit.security import hash_token

        # Held, so the session keeps its (soon stale) copy, as a request in flight would.
        seen = await RefreshTokenRepository(slow.session).by_hash(hash_token(token))
        async with UnitOfWork() as fast:
            await auth_service.refresh(fast.session, token)
        assert seen is not None and seen.used_at is None
        try:
            await auth_service.refresh(slow.session, token)
        except TokenReuseDetected:
            pass
        else:
            raise AssertionError("a token read before another request rotated it was accepted again")
