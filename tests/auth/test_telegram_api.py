"""Telegram sign-in through the API with data signed the way Telegram signs it."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from tests.fixtures.app import api_login, make_user

BOT_TOKEN = "123456:TEST-bot-token"  # tests/fixtures/db.py sets it


def init_data(user: dict, *, token: str = BOT_TOKEN, auth_date: int | None = None) -> str:
    fields = {"auth_date": str(auth_date or int(time.time())), "query_id": "AAF", "user": json.dumps(user)}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def widget(fields: dict, *, token: str = BOT_TOKEN) -> dict:
    fields = {"auth_date": int(time.time()), **fields}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hashlib.sha256(token.encode()).digest()
    return {**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}


async def test_miniapp_sign_in_creates_a_student_once(client):
    data = init_data({"id": 777, "first_name": "Ivan", "username": "ivan", "language_code": "ru"})
    first = await client.post("/api/v1/auth/telegram/miniapp", json={"init_data": data})
    assert first.status_code == 200, first.text
    me = (
        await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
        )
    ).json()
    assert me["telegram_linked"] and me["role"] == "student" and me["locale"] == "ru" and me["name"] == "Ivan"
    again = await client.post("/api/v1/auth/telegram/miniapp", json={"init_data": data})
    me2 = (
        await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}
        )
    ).json()
    assert me2["id"] == me["id"]


async def test_miniapp_rejects_tampering_wrong_token_missing_hash_and_stale(client):
    good = init_data({"id": 1, "first_name": "A"})
    tampered = good.replace("%22A%22", "%22B%22")
    assert tampered != good
    wrong_token = init_data({"id": 1, "first_name": "A"}, token="999:other")
    missing_hash = "&".join(p for p in good.split("&") if not p.startswith("hash="))
    stale = init_data({"id": 1, "first_name": "A"}, auth_date=int(time.time()) - 2 * 86400)
    for bad in (tampered, wrong_token, missing_hash, stale):
        r = await client.post("/api/v1/auth/telegram/miniapp", json={"init_data": bad})
        assert r.status_code == 401 and r.json()["error"] == "InvalidTelegramData", bad


async def test_widget_sign_in_and_its_own_key_derivation(client):
    ok = await client.post("/api/v1/auth/telegram/widget", json=widget({"id": 42, "first_name": "Olga"}))
    assert ok.status_code == 200
    # The Mini App derivation must not validate widget data.
    fields = {"auth_date": int(time.time()), "id": 42, "first_name": "Olga"}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", BOT_TOKEN.encode(), hashlib.sha256).digest()
    wrong = {**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}
    assert (await client.post("/api/v1/auth/telegram/widget", json=wrong)).status_code == 401
    tampered = {**widget({"id": 42, "first_name": "Olga"}), "first_name": "Eve"}
    assert (await client.post("/api/v1/auth/telegram/widget", json=tampered)).status_code == 401
    stale = widget({"id": 42, "first_name": "Olga", "auth_date": int(time.time()) - 3 * 86400})
    assert (await client.post("/api/v1/auth/telegram/widget", json=stale)).status_code == 401


async def test_link_telegram_to_existing_account_then_sign_in_with_it(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    linked = await client.post(
        "/api/v1/auth/telegram/link", headers=headers, json=widget({"id": 5150, "first_name": "X"})
    )
    assert linked.status_code == 200 and linked.json()["telegram_linked"]
    via_tg = await client.post(
        "/api/v1/auth/telegram/miniapp", json={"init_data": init_data({"id": 5150, "first_name": "X"})}
    )
    me = (
        await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {via_tg.json()['access_token']}"}
        )
    ).json()
    assert me["id"] == user.id and me["email"] == user.email

    other = await make_user()
    other_headers = await api_login(client, other.email)
    conflict = await client.post(
        "/api/v1/auth/telegram/link", headers=other_headers, json=widget({"id": 5150, "first_name": "X"})
    )
    assert conflict.status_code == 409 and conflict.json()["error"] == "TelegramAlreadyLinked"


async def test_widget_callback_page_signs_in_with_a_cookie(client):
    r = await client.get("/login/telegram", params=widget({"id": 31337, "first_name": "Web"}))
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    assert (await client.get("/dashboard")).status_code == 200
    bad = await client.get(
        "/login/telegram", params={**widget({"id": 31337, "first_name": "Web"}), "id": "1"}
    )
    assert bad.status_code in (303, 401)


async def test_unlink_telegram_only_when_a_password_remains(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    await client.post(
        "/api/v1/auth/telegram/link", headers=headers, json=widget({"id": 6060, "first_name": "U"})
    )
    r = await client.delete("/api/v1/auth/telegram/link", headers=headers)
    assert r.status_code == 200 and r.json()["telegram_linked"] is False
    tg_only = await client.post(
        "/api/v1/auth/telegram/miniapp", json={"init_data": init_data({"id": 7070, "first_name": "T"})}
    )
    tg_headers = {"Authorization": f"Bearer {tg_only.json()['access_token']}"}
    refused = await client.delete("/api/v1/auth/telegram/link", headers=tg_headers)
    assert refused.status_code == 403
    assert (await client.get("/api/v1/auth/me", headers=tg_headers)).json()["telegram_linked"] is True
