import pyotp

from academy.models import Role
from tests.fixtures.app import PASSWORD, api_login, csrf, make_user


async def test_staff_turn_on_totp_and_then_need_the_code(client):
    curator = await make_user(role=Role.curator)
    headers = await api_login(client, curator.email)
    setup = (await client.post("/api/v1/auth/totp/setup", headers=headers)).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    wrong = await client.post(
        "/api/v1/auth/totp/enable",
        headers=headers,
        json={"code": "000000" if totp.now() != "000000" else "111111"},
    )
    assert wrong.status_code == 422
    ok = await client.post("/api/v1/auth/totp/enable", headers=headers, json={"code": totp.now()})
    assert ok.status_code == 200 and ok.json()["totp_enabled"]

    no_code = await client.post("/api/v1/auth/login", json={"email": curator.email, "password": PASSWORD})
    assert no_code.status_code == 401 and no_code.json()["error"] == "TotpRequired"
    bad = await client.post(
        "/api/v1/auth/login",
        json={
            "email": curator.email,
            "password": PASSWORD,
            "totp_code": "123456" if totp.now() != "123456" else "654321",
        },
    )
    assert bad.status_code == 401
    good = await client.post(
        "/api/v1/auth/login", json={"email": curator.email, "password": PASSWORD, "totp_code": totp.now()}
    )
    assert good.status_code == 200

    token = await csrf(client)
    step1 = await client.post(
        "/login", data={"email": curator.email, "password": PASSWORD, "csrf_token": token}
    )
    assert step1.status_code == 422 and 'name="totp_code"' in step1.text
    assert PASSWORD not in step1.text, "the second step must not carry the password"
    challenge = step1.text.split('name="challenge" value="')[1].split('"')[0]
    wrong = "000000" if totp.now() != "000000" else "111111"
    bad_step = await client.post(
        "/login", data={"challenge": challenge, "totp_code": wrong, "csrf_token": token}
    )
    assert bad_step.status_code == 401
    forged = await client.post(
        "/login", data={"challenge": "1.forged", "totp_code": totp.now(), "csrf_token": token}
    )
    assert forged.status_code == 401
    step2 = await client.post(
        "/login", data={"challenge": challenge, "totp_code": totp.now(), "csrf_token": token}
    )
    assert step2.status_code == 303 and (await client.get("/dashboard")).status_code == 200


async def test_students_cannot_use_totp(client):
    student = await make_user()
    r = await client.post("/api/v1/auth/totp/setup", headers=await api_login(client, student.email))
    assert r.status_code == 403


async def test_totp_pages_keep_the_key_after_a_wrong_code(client):
    from tests.fixtures.app import page_login

    expert = await make_user(role=Role.expert)
    await page_login(client, expert.email)
    token = client.cookies["academy_csrf"]
    setup = await client.post("/profile/security/totp/setup", data={"csrf_token": token})
    secret = setup.text.split('data-testid="totp-secret">')[1].split("<")[0]
    totp = pyotp.TOTP(secret)
    wrong = "000000" if totp.now() != "000000" else "111111"
    retry = await client.post("/profile/security/totp/enable", data={"code": wrong, "csrf_token": token})
    assert retry.status_code == 422 and secret in retry.text
    ok = await client.post("/profile/security/totp/enable", data={"code": totp.now(), "csrf_token": token})
    assert ok.status_code == 303
    assert 'data-testid="totp-on"' in (await client.get("/profile/security")).text
    bogus = await client.post(
        "/profile/security/totp/explode", data={"code": totp.now(), "csrf_token": token}
    )
    assert bogus.status_code == 422
