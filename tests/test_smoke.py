from tests.fixtures.app import api_login, make_user


async def test_health_and_login(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    user = await make_user()
    headers = await api_login(client, user.email)
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["email"] == user.email
