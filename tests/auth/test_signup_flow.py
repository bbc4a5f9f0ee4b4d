"""Sign-up → verification link from the outbox → login → profile, through the API and the pages."""

from urllib.parse import urlparse

from tests.fixtures.app import PASSWORD, api_login, csrf, outbox_links, page_login


async def test_api_signup_verify_login_profile(client):
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "Ann@Example.com", "password": PASSWORD, "name": "Ann", "timezone": "Europe/Berlin"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "ann@example.com"
    assert r.json()["email_verified"] is False

    dup = await client.post("/api/v1/auth/register", json={"email": "ann@example.com", "password": PASSWORD})
    assert dup.status_code == 409 and dup.json()["error"] == "EmailTaken"

    links = await outbox_links("/verify-email")
    assert len(links) == 1
    token = links[0].split("token=")[1]
    verified = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True
    again = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert again.status_code == 401, "a verification link works once"

    headers = await api_login(client, "ann@example.com")
    me = (await client.get("/api/v1/auth/me", headers=headers)).json()
    assert me["name"] == "Ann" and me["timezone"] == "Europe/Berlin" and me["role"] == "student"

    r = await client.patch(
        "/api/v1/users/me", headers=headers, json={"name": "Ann B", "timezone": "Asia/Tokyo", "locale": "ru"}
    )
    assert r.status_code == 200 and r.json()["timezone"] == "Asia/Tokyo" and r.json()["locale"] == "ru"
    bad = await client.patch("/api/v1/users/me", headers=headers, json={"timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["error"] == "ValidationError"
    assert (await client.get("/api/v1/auth/me", headers=headers)).json()["timezone"] == "Asia/Tokyo"


async def test_wrong_password_and_unknown_email_look_the_same(client):
    await client.post("/api/v1/auth/register", json={"email": "bob@example.com", "password": PASSWORD})
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": "nope-nope"}
    )
    unknown = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json() == unknown.json() == {"error": "InvalidCredentials", "detail": "Wrong email or password"}
    )


async def test_password_reset_via_api_revokes_old_sessions(client):
    await client.post("/api/v1/auth/register", json={"email": "cy@example.com", "password": PASSWORD})
    old = await client.post("/api/v1/auth/login", json={"email": "cy@example.com", "password": PASSWORD})
    r = await client.post("/api/v1/auth/password-reset", json={"email": "cy@example.com"})
    assert r.status_code == 202
    same = await client.post("/api/v1/auth/password-reset", json={"email": "ghost@example.com"})
    assert same.status_code == 202 and same.json() == r.json(), "no account enumeration"
    (link,) = await outbox_links("/reset-password")
    token = link.split("token=")[1]
    short = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422
    ok = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "a brand new password"}
    )
    assert ok.status_code == 200
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": old.json()["refresh_token"]})
    ).status_code == 401
    assert (
        await client.post("/api/v1/auth/login", json={"email": "cy@example.com", "password": PASSWORD})
    ).status_code == 401
    await api_login(client, "cy@example.com", "a brand new password")


async def test_pages_signup_verify_logout_login_profile(client):
    token = await csrf(client, "/signup")
    r = await client.post(
        "/signup",
        data={
            "name": "Dana",
            "email": "dana@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "timezone": "Europe/Moscow",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/dashboard")
    dash = await client.get("/dashboard")
    assert dash.status_code == 200 and "Dana" in dash.text and 'data-testid="verify-banner"' in dash.text

    outbox = await client.get("/dev/outbox")
    assert "dana@example.com" in outbox.text and "Confirm your email" in outbox.text
    (link,) = await outbox_links("/verify-email")
    page = await client.get(urlparse(link).path + "?" + urlparse(link).query)
    assert page.status_code == 200 and 'data-testid="verified"' in page.text
    assert 'data-testid="verify-banner"' not in (await client.get("/dashboard")).text

    out = await client.post("/logout", data={"csrf_token": client.cookies["academy_csrf"]})
    assert out.status_code == 303
    assert (await client.get("/dashboard")).status_code == 303

    await page_login(client, "dana@example.com")
    profile = await client.get("/profile")
    assert profile.status_code == 200 and "Europe/Moscow" in profile.text
    saved = await client.post(
        "/profile",
        data={"name": "Dana K", "timezone": "America/New_York", "locale": "en", "csrf_token": token},
    )
    assert saved.status_code == 200 and 'data-testid="saved"' in saved.text
    bad = await client.post("/profile", data={"timezone": "Nowhere/City", "csrf_token": token})
    assert bad.status_code == 422 and "Unknown time zone" in bad.text


async def test_signup_page_shows_field_errors_and_keeps_input(client):
    token = await csrf(client, "/signup")
    r = await client.post(
        "/signup",
        data={
            "name": "Eve",
            "email": "not-an-email",
            "password": "x",
            "password_confirm": "y",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422
    assert 'data-testid="error-email"' in r.text and 'data-testid="error-password"' in r.text
    assert 'value="Eve"' in r.text and 'value="x"' not in r.text


async def test_login_page_rejects_bad_password_and_open_redirect(client):
    await client.post("/api/v1/auth/register", json={"email": "fay@example.com", "password": PASSWORD})
    token = await csrf(client)
    bad = await client.post(
        "/login", data={"email": "fay@example.com", "password": "wrong-pass", "csrf_token": token}
    )
    assert bad.status_code == 401 and 'data-testid="form-error"' in bad.text
    r = await client.post(
        "/login",
        data={
            "email": "fay@example.com",
            "password": PASSWORD,
            "next": "https://evil.example/",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
