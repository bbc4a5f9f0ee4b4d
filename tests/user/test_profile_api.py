from academy.models import Role
from tests.fixtures.app import api_login, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_avatar_upload_through_the_api_is_served_back(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    r = await client.put(
        "/api/v1/users/me/avatar", headers=headers, files={"file": ("a.png", PNG, "image/png")}
    )
    assert r.status_code == 200
    url = r.json()["avatar_url"]
    served = await client.get(url)
    assert served.status_code == 200 and served.content == PNG
    too_big = PNG + b"\x00" * (2 * 1024 * 1024)
    big = await client.put(
        "/api/v1/users/me/avatar", headers=headers, files={"file": ("a.png", too_big, "image/png")}
    )
    assert big.status_code == 422 and "larger than" in big.json()["detail"]
    assert (await client.get("/api/v1/auth/me", headers=headers)).json()["avatar_url"] == url


async def test_admin_lists_users_and_changes_a_role(client):
    admin, student = await make_user(role=Role.admin), await make_user(name="Findable Person")
    headers = await api_login(client, admin.email)
    found = (await client.get("/api/v1/users", headers=headers, params={"q": "findable"})).json()
    assert [u["id"] for u in found["items"]] == [student.id]
    curators = (await client.get("/api/v1/users", headers=headers, params={"role": "curator"})).json()
    assert curators["total"] == 0
    r = await client.put(f"/api/v1/users/{student.id}/role", headers=headers, json={"role": "curator"})
    assert r.status_code == 200 and r.json()["role"] == "curator"
    bad = await client.put(f"/api/v1/users/{student.id}/role", headers=headers, json={"role": "wizard"})
    assert bad.status_code == 422
    assert (await client.get("/api/v1/users/999999", headers=headers)).status_code == 404
