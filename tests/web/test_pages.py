from academy.models import Role
from tests.fixtures.app import make_user, page_login
from tests.fixtures.db import reconfigure


async def test_unknown_page_is_a_404_inside_the_layout(client):
    r = await client.get("/no/such/page")
    assert r.status_code == 404 and "navbar" in r.text and "Page not found" in r.text
    api = await client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json()["error"] == "NotFound"


async def test_forbidden_page_is_a_403_inside_the_layout(client):
    student = await make_user()
    await page_login(client, student.email)
    r = await client.get("/profile/security")
    assert r.status_code == 403 and "navbar" in r.text and student.name in r.text


async def test_russian_ui_from_the_switch_and_from_the_browser(client):
    ru = await client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in ru.text and "Войти" in ru.text
    token = client.cookies["academy_csrf"]
    switched = await client.post(
        "/language",
        data={"locale": "en", "csrf_token": token},
        headers={"referer": "http://testserver/login"},
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    en = await client.get("/login", headers={"Accept-Language": "ru"})
    assert '<html lang="en">' in en.text and "Sign in" in en.text


async def test_signed_in_users_language_follows_their_profile(client):
    user = await make_user()
    await page_login(client, user.email)
    token = client.cookies["academy_csrf"]
    await client.post(
        "/language",
        data={"locale": "ru", "csrf_token": token},
        headers={"referer": "http://testserver/profile"},
    )
    page = await client.get("/dashboard")
    assert '<html lang="ru">' in page.text
    me = await client.get("/profile")
    assert 'value="ru" selected' in me.text


async def test_navigation_depends_on_role(client):
    admin = await make_user(role=Role.admin)
    await page_login(client, admin.email)
    page = await client.get("/dashboard")
    assert 'href="/admin/"' in page.text
    student_client = client
    student_client.cookies.clear()
    student = await make_user()
    await page_login(student_client, student.email)
    assert 'href="/admin/"' not in (await student_client.get("/dashboard")).text


async def test_dev_outbox_is_hidden_in_production(client, monkeypatch):
    assert (await client.get("/dev/outbox")).status_code == 200
    reconfigure(monkeypatch, environment="production")
    assert (await client.get("/dev/outbox")).status_code == 404


async def test_health_readiness_and_metrics(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    await client.get("/login")
    metrics = await client.get("/metrics")
    assert (
        metrics.status_code == 200
        and 'academy_http_requests_total{method="GET",route="/login"' in metrics.text
    )


async def test_request_id_is_echoed(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32


async def test_openapi_docs(client):
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/auth/login" in spec["paths"] and "/api/v1/auth/telegram/miniapp" in spec["paths"]


async def test_avatar_upload_checks_content(client):
    user = await make_user()
    await page_login(client, user.email)
    token = client.cookies["academy_csrf"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    ok = await client.post(
        "/profile/avatar", data={"csrf_token": token}, files={"avatar": ("me.png", png, "image/png")}
    )
    assert ok.status_code == 200 and "/media/avatars/" in ok.text
    fake = await client.post(
        "/profile/avatar", data={"csrf_token": token}, files={"avatar": ("me.png", b"<script>", "image/png")}
    )
    assert fake.status_code == 422 and "PNG, JPEG, GIF or WebP" in fake.text


async def test_oversized_request_body_is_refused_before_parsing(client):
    r = await client.post(
        "/api/v1/auth/login", content=b"x" * (9 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_wrong_metrics_token_is_a_401_not_a_login_redirect(client, monkeypatch):
    reconfigure(monkeypatch, metrics_token="scrape-secret")
    assert (await client.get("/metrics")).status_code == 401
    ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert ok.status_code == 200
