from academy.kit import ratelimit
from tests.fixtures.app import PASSWORD, api_login, csrf, make_user, page_login
from tests.fixtures.db import reconfigure


async def test_form_post_without_csrf_token_is_refused(client):
    user = await make_user()
    await csrf(client)
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 403 and "reload the page" in r.text
    forged = await client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "guess"}
    )
    assert forged.status_code == 403
    await page_login(client, user.email)
    token = client.cookies["academy_csrf"]
    no_token = await client.post("/profile", data={"name": "Mallory"})
    assert no_token.status_code == 403
    with_header = await client.post("/profile", data={"name": "Real"}, headers={"X-CSRF-Token": token})
    assert with_header.status_code == 200


async def test_htmx_error_keeps_the_page_and_shows_a_toast(client):
    user = await make_user()
    await page_login(client, user.email)
    headers = {"HX-Request": "true", "X-CSRF-Token": client.cookies["academy_csrf"]}
    r = await client.post("/notifications/999999/read", headers=headers)
    assert r.status_code == 404
    assert r.headers["HX-Reswap"] == "none" and "academy:toast" in r.headers["HX-Trigger"]
    assert r.text == ""


async def test_101st_request_in_a_minute_gets_429_with_retry_after(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    for i in range(100):
        r = await client.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 200, f"request {i + 1} was limited"
    r = await client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 429 and r.json()["error"] == "TooManyRequests"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    other = await make_user()
    assert (
        await client.get("/api/v1/auth/me", headers=await api_login(client, other.email))
    ).status_code == 200


async def test_login_is_limited_more_strictly(client):
    for _ in range(10):
        r = await client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "wrong"})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "wrong"})
    assert r.status_code == 429 and "Retry-After" in r.headers


async def test_limits_can_be_turned_off(client, monkeypatch):
    reconfigure(monkeypatch, rate_limit_enabled="false")
    ratelimit.configure(enabled=False)
    for _ in range(15):
        r = await client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "w"})
        assert r.status_code == 401
