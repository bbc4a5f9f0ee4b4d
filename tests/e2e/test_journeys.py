"""End-to-end journeys in a real browser against the real server (see conftest.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = "journey-pass-123"
DEMO_PASSWORD = "academy-demo"
ADMIN_EMAIL = "admin@demo.academy.school"
STUDENT_EMAIL = "student@demo.academy.school"

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture(scope="session")
def admin_token(server_url: str) -> str:
    response = httpx.post(
        f"{server_url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": DEMO_PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def context_factory(browser: Browser) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def make(**kwargs: Any) -> BrowserContext:
        context = browser.new_context(**kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def push_notification(server_url: str, token: str, email: str, title: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=10) as client:
        found = client.get("/api/v1/users", params={"q": email})
        assert found.status_code == 200, found.text
        ids = [u["id"] for u in found.json()["items"] if u.get("email") == email]
        assert ids, f"{email} not found: {found.text}"
        sent = client.post(
            "/api/v1/notifications",
            json={
                "user_id": ids[0],
                "kind": "system",
                "title": title,
                "body": "Sent by the e2e test.",
                "link": "/profile",
            },
        )
        assert sent.status_code == 201, sent.text


def login(page: Page, server_url: str, email: str, password: str) -> None:
    page.goto(f"{server_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(re.compile(r"/dashboard"))


def sign_out(page: Page) -> None:
    menu = page.locator("[data-testid=user-menu]")
    if not menu.is_visible():
        page.click(".navbar-toggler")
    menu.click()
    sign_out_button = page.get_by_role("button", name="Sign out")
    expect(sign_out_button).to_be_visible()
    sign_out_button.click()
    page.wait_for_load_state()
    expect(page.locator("[data-testid=user-menu]")).to_have_count(0)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_signup_verify_login_and_live_notification(
    device: str, context_factory: Any, live_server: Any, server_url: str, admin_token: str, tmp_path: Path
) -> None:
    email = f"e2e-{device}-{uuid.uuid4().hex[:10]}@example.com"
    name = f"Journey {device.title()}"
    context = context_factory(**VIEWPORTS[device])
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(f"{page.url}: {exc}"))
    sockets: dict[str, int] = {"opened": 0, "frames": 0, "closed": 0}

    def on_websocket(ws: Any) -> None:
        sockets["opened"] += 1
        ws.on("framereceived", lambda _frame: sockets.__setitem__("frames", sockets["frames"] + 1))
        ws.on("close", lambda _ws: sockets.__setitem__("closed", sockets["closed"] + 1))

    page.on("websocket", on_websocket)

    # Sign up: lands on the dashboard, signed in, with the unverified-email banner.
    page.goto(f"{server_url}/signup")
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("[data-testid=signup-submit]")
    page.wait_for_url(re.compile(r"/dashboard\?welcome=1"))
    expect(page.locator("[data-testid=dashboard-title]")).to_have_text(f"Hello, {name}")
    expect(page.locator("[data-testid=verify-banner]")).to_be_visible()

    # The confirmation email, written by the worker, shows up in the dev outbox.
    mail = page.locator("[data-testid=email]").filter(
        has=page.locator("[data-testid=email-to]", has_text=email)
    )
    for _attempt in range(40):  # bounded: ~20 s at most for the worker to write the email
        page.goto(f"{server_url}/dev/outbox")
        if mail.count():
            break
        page.wait_for_timeout(500)
    expect(mail).to_have_count(1)
    expect(mail.locator("[data-testid=email-subject]")).to_have_text("Confirm your email")
    link = mail.locator("[data-testid=email-body] a[href*='/verify-email?token=']")
    href = link.get_attribute("href")
    assert href and href.startswith(f"{server_url}/verify-email?token="), href
    page.goto(href)
    expect(page.locator("[data-testid=verified]")).to_be_visible()

    page.goto(f"{server_url}/dashboard")
    expect(page.locator("[data-testid=verify-banner]")).to_have_count(0)

    # Sign out through the user menu, then sign back in.
    sign_out(page)
    login(page, server_url, email, PASSWORD)
    expect(page.locator("[data-testid=dashboard-title]")).to_have_text(f"Hello, {name}")
    expect(page.locator("[data-testid=unread]")).to_have_class(re.compile(r"\bd-none\b"))
    page.screenshot(path=str(tmp_path / f"dashboard-{device}.png"), full_page=True)

    # A notification pushed by an admin arrives over the WebSocket, no reload.
    page.evaluate("window.__noReload = true")
    title = f"Live hello {uuid.uuid4().hex[:6]}"
    push_notification(server_url, admin_token, email, title)
    toast = page.locator("#toasts [data-testid=live-toast]").filter(has_text=title)
    try:
        expect(toast).to_be_visible(timeout=15_000)
    except AssertionError as exc:
        raise AssertionError(
            f"no live toast for {title!r} within 15 s; WebSockets on this page: {sockets} "
            f"(a closed socket and no frames: look for /ws errors in {live_server.log_path})"
        ) from exc
    badge = page.locator("[data-testid=unread]")
    expect(badge).not_to_have_class(re.compile(r"\bd-none\b"))
    assert int(badge.inner_text().strip()) >= 1
    expect(page.locator("#notification-feed [data-testid=notification]").first).to_contain_text(title)
    assert page.evaluate("window.__noReload") is True, "the page reloaded"
    page.screenshot(path=str(tmp_path / f"dashboard-live-{device}.png"), full_page=False)
    print(f"screenshots: {tmp_path}")
    assert not page_errors, f"JavaScript errors during the journey: {page_errors}"


def test_admin_area_is_for_admins_only(context_factory: Any, server_url: str) -> None:
    admin = context_factory(**VIEWPORTS["desktop"]).new_page()
    login(admin, server_url, ADMIN_EMAIL, DEMO_PASSWORD)
    response = admin.goto(f"{server_url}/admin/")
    assert response is not None and response.status == 200
    expect(admin).to_have_title(re.compile("Academy admin"))

    student = context_factory(**VIEWPORTS["desktop"]).new_page()
    login(student, server_url, STUDENT_EMAIL, DEMO_PASSWORD)
    response = student.goto(f"{server_url}/admin/")
    assert response is not None and response.status == 403


def test_language_switch_to_russian(context_factory: Any, server_url: str) -> None:
    page = context_factory(**VIEWPORTS["desktop"]).new_page()
    page.goto(f"{server_url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.select_option("select[name=locale]", label="Русский")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    assert page.url.endswith("/login")
