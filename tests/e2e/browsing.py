"""What the browser journeys share: devices, error watching and signing in (`contexts` is in conftest)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page

DEMO_PASSWORD = "academy-demo"
CURATOR_EMAIL = "curator@demo.academy.school"

DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    return errors


def login(page: Page, server_url: str, email: str, password: str) -> None:
    page.goto(f"{server_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(re.compile(r"/dashboard"))
