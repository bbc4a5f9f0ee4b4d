"""A student's first study session in a real browser: enroll, read, complete, pass a quiz, see XP."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FIRST_QUIZ = ROOT / "content" / "trading-foundations" / "01-markets" / "01-what-is-a-market.quiz.yaml"
PASSWORD = "journey-pass-123"


def answer_correctly(page: Page, questions: list[dict[str, Any]]) -> None:
    """Fill the quiz form with the right answers, read from the course folder the demo imported."""
    blocks = page.locator("[data-testid=question]")
    expect(blocks).to_have_count(len(questions))
    for index, question in enumerate(questions):
        block = blocks.nth(index)
        kind = question["kind"]
        if kind == "single":
            block.locator("input[type=radio]").nth(question["answer"]).check()
        elif kind == "multiple":
            for option in question["answers"]:
                block.locator("input[type=checkbox]").nth(option).check()
        elif kind == "numeric":
            block.locator("input").fill(str(question["answer"]))
        else:
            block.locator("input").fill(question["accepted"][0])


DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@pytest.mark.parametrize("device", list(DEVICES))
def test_enroll_read_complete_and_pass_a_quiz(browser: Any, server_url: str, device: str) -> None:
    email = f"learner-{uuid.uuid4().hex[:8]}@example.com"
    r = httpx.post(
        f"{server_url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": f"Journey Learner {device}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    context = browser.new_context(**DEVICES[device])
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{server_url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_url(re.compile(r"/dashboard"))

        page.goto(f"{server_url}/courses")
        page.locator("[data-testid=catalog]").get_by_role("link", name="Trading Foundations").click()
        expect(page.locator("[data-testid=course-title]")).to_have_text("Trading Foundations")
        page.click("[data-testid=enroll]")
        expect(page.locator("[data-testid=progress-pct]")).to_have_text("0%")
        locked = page.locator("[data-testid=lesson-row][data-status=locked]")
        assert locked.count() > 0, "lessons with unfinished prerequisites are shown locked"

        page.click("[data-testid=continue]")
        expect(page.locator("[data-testid=lesson-title]")).to_be_visible()
        expect(page.locator("[data-testid=lesson-content] h2").first).to_be_visible()
        page.click("[data-testid=mark-complete]")
        expect(page.locator("[data-testid=completed]")).to_be_visible()
        expect(page.locator("[data-testid=xp-gained]")).to_have_text("+10 XP")

        page.click("[data-testid=take-quiz]")
        questions = yaml.safe_load(FIRST_QUIZ.read_text(encoding="utf-8"))["questions"]
        # A wrong first try shows what was wrong without losing the form.
        page.click("[data-testid=submit-quiz]")
        expect(page.locator("[data-testid=question-error]").first).to_be_visible()
        answer_correctly(page, questions)
        page.click("[data-testid=submit-quiz]")
        result = page.locator("[data-testid=quiz-result]")
        expect(result).to_have_attribute("data-passed", "true")
        expect(page.locator("[data-testid=feedback]")).to_have_count(len(questions))
        expect(page.locator("[data-testid=quiz-xp]")).to_have_text("+30 XP")  # pass + perfect score

        page.goto(f"{server_url}/progress")
        expect(page.locator("[data-testid=xp]")).to_have_text("40")
        unlocked = page.locator("[data-testid=achievement][data-unlocked=yes]")
        expect(unlocked.filter(has_text="First steps")).to_have_count(1)
        expect(unlocked.filter(has_text="Quiz starter")).to_have_count(1)
        expect(page.locator("[data-testid=leaderboard]")).to_contain_text(f"Journey Learner {device}")

        page.goto(f"{server_url}/dashboard")
        continue_card = page.locator("[data-testid=continue-learning]")
        expect(continue_card).to_contain_text("Trading Foundations")
        expect(page.locator("[data-testid=dashboard-xp]")).to_contain_text("40 XP")
        page.click("[data-testid=continue-lesson]")
        expect(page.locator("[data-testid=lesson-title]")).not_to_have_text(
            "What a market is and who trades in it"
        )
    finally:
        context.close()
