"""/ws against the real server: signed-in pages get live fragments; strangers get nothing."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.support.server import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("live"), extra_env={"ACADEMY_JOBS_INLINE": "true"})
    srv.prepare()
    srv.start()
    yield srv
    srv.stop()


def _cookie_header(server: Server, email: str) -> str:
    with httpx.Client(base_url=server.base_url) as c:
        c.get("/login")
        token = c.cookies["academy_csrf"]
        r = c.post("/login", data={"email": email, "password": "academy-demo", "csrf_token": token})
        assert r.status_code == 303
        return "; ".join(f"{k}={v}" for k, v in c.cookies.items())


def _notify(server: Server, email: str, title: str) -> None:
    with httpx.Client(base_url=server.base_url) as c:
        login = c.post(
            "/api/v1/auth/login", json={"email": "admin@demo.academy.school", "password": "academy-demo"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        user_id = c.get("/api/v1/users", params={"q": email}, headers=headers).json()["items"][0]["id"]
        r = c.post("/api/v1/notifications", headers=headers, json={"user_id": user_id, "title": title})
        assert r.status_code == 201


async def test_signed_in_socket_receives_fragments(server):
    email = "student@demo.academy.school"
    url = server.base_url.replace("http", "ws") + "/ws"
    cookie = _cookie_header(server, email)
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": server.base_url}
    ) as ws:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(_notify, server, email, "Lesson reminder")
        fragment = await asyncio.wait_for(ws.recv(), timeout=10)
    assert "Lesson reminder" in fragment and 'id="unread-badge"' in fragment and "hx-swap-oob" in fragment
    assert 'name="csrf_token"' in fragment


async def test_anonymous_and_cross_site_sockets_are_refused(server):
    url = server.base_url.replace("http", "ws") + "/ws"
    # Closing before accept refuses the handshake itself.
    with pytest.raises(websockets.InvalidStatus) as anonymous:
        async with websockets.connect(url):
            pass
    assert anonymous.value.response.status_code == 403
    cookie = _cookie_header(server, "curator@demo.academy.school")
    with pytest.raises(websockets.InvalidStatus) as cross_site:
        async with websockets.connect(
            url, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}
        ):
            pass
    assert cross_site.value.response.status_code == 403
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": server.base_url}
    ) as ws:
        assert ws.state.name == "OPEN"
