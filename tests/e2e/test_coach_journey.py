"""The AI coach in a real browser: a student asks Alex on the chat page and watches the answer stream
in with its citations, asks something the course does not cover and is told a curator will answer, the
demo curator answers in the queue (publishing it to the FAQ), and the student sees that answer arrive in
the same conversation without reloading. On a phone, the lesson page's "Ask Alex" panel answers too."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browsing import CURATOR_EMAIL, DEMO_PASSWORD, login, watch_errors

pytestmark = pytest.mark.e2e

PASSWORD = "coach-journey-123"
COVERED = "why do i need a stop los on every trade?"
UNCOVERED = "How are my crypto trading profits taxed in Germany and which form do I file?"
# The first question warms retrieval up (indexes, maybe an embedding model); later ones answer at once.
ANSWER_TIMEOUT = 30_000
CURATOR_ANSWER = (
    "The course does not cover taxes; ask a local tax adviser, because the rules differ by country."
)


def new_enrolled_student(page: Page, server_url: str, label: str) -> None:
    email = f"coach-{label}-{uuid.uuid4().hex[:8]}@example.com"
    r = httpx.post(
        f"{server_url}/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": f"Coach Learner {label}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    login(page, server_url, email, PASSWORD)
    page.goto(f"{server_url}/courses")
    page.locator("[data-testid=catalog]").get_by_role("link", name="Trading Foundations").click()
    page.click("[data-testid=enroll]")
    expect(page.locator("[data-testid=progress-pct]")).to_have_text("0%")


def ask(page: Page, text: str) -> None:
    page.fill("[data-testid=coach-input]", text)
    page.click("[data-testid=coach-send]")


def test_ask_alex_from_a_lesson_on_a_phone(contexts: Any, server_url: str, tmp_path: Path) -> None:
    page = contexts("phone").new_page()
    errors = watch_errors(page)
    new_enrolled_student(page, server_url, "phone")
    page.click("[data-testid=continue]")
    expect(page.locator("[data-testid=lesson-title]")).to_be_visible()

    panel = page.locator("[data-testid=coach-panel]")
    expect(panel).not_to_be_visible()
    page.click("[data-testid=ask-alex]")
    expect(panel).to_be_visible()

    # An error before the stream starts (here: the daily limit, as the page route words it) shows in
    # the panel and keeps the typed question.
    limit = "You have used all of today's messages to Alex. Come back tomorrow."
    toast = json.dumps({"academy:toast": {"message": limit, "level": "danger"}})
    page.route(
        "**/coach/messages",
        lambda route: route.fulfill(status=429, headers={"HX-Trigger": toast, "HX-Reswap": "none"}, body=""),
    )
    panel.locator("[data-testid=coach-input]").fill(COVERED)
    panel.locator("[data-testid=coach-send]").click()
    expect(panel.locator("[data-testid=coach-error]")).to_have_text(limit)
    expect(panel.locator("[data-testid=coach-input]")).to_have_value(COVERED)
    expect(panel.locator("[data-testid=coach-message]")).to_have_count(0)
    page.unroute("**/coach/messages")

    panel.locator("[data-testid=coach-send]").click()
    expect(panel.locator("[data-testid=coach-error]")).to_be_hidden()
    answer = panel.locator("[data-testid=coach-message][data-role=assistant]").last
    expect(answer.locator("[data-testid=citation]").first).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(panel.locator("[data-testid=coach-input]")).to_have_value("")
    page.screenshot(path=str(tmp_path / "coach-panel-phone.png"))
    full = panel.locator("[data-coach-full-link]")
    expect(full).to_have_attribute("href", re.compile(r"^/coach\?c=\d+$"))

    # The conversation is kept with its lesson, and opens on the chat page.
    full.click()
    page.wait_for_url(re.compile(r"/coach\?c=\d+$"))
    expect(page.locator("[data-testid=coach-message][data-role=user]")).to_contain_text(COVERED)
    page.screenshot(path=str(tmp_path / "coach-chat-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the chat page scrolls sideways on a phone ({width}px)"
    assert not errors, errors


def test_ask_escalate_and_get_the_curators_answer(contexts: Any, server_url: str, tmp_path: Path) -> None:
    student = contexts("desktop").new_page()
    student_errors = watch_errors(student)
    new_enrolled_student(student, server_url, "desktop")

    student.click("[data-testid=nav-coach]")
    student.wait_for_url(re.compile(r"/coach$"))
    expect(student.locator("[data-testid=coach-empty]")).to_be_visible()
    expect(student.locator("[data-testid=coach-course] option:checked")).to_have_text("Trading Foundations")
    expect(student.locator("[data-testid=coach-remaining]")).to_contain_text("messages left today")

    # A covered question: the answer streams in and ends as a bubble with numbered citation links.
    ask(student, COVERED)
    answer = student.locator("[data-testid=coach-message][data-role=assistant]").last
    expect(answer).to_have_attribute("data-mode", "answer", timeout=ANSWER_TIMEOUT)
    marker = answer.locator("[data-testid=citation-marker]").first
    expect(marker).to_be_visible()
    expect(marker).to_have_text(re.compile(r"^\[\d+\]$"))
    citation = answer.locator("[data-testid=citation]").first
    href = citation.get_attribute("href") or ""
    assert href.startswith("/"), href
    expect(student.locator("[data-testid=coach-input]")).to_have_value("")
    expect(student.locator("[data-testid=coach-course]")).to_be_hidden()  # the conversation has its course
    student.wait_for_url(re.compile(r"/coach\?c=\d+$"))
    conversation_id = student.url.rsplit("=", 1)[1]
    expect(student.locator("[data-testid=history-item]")).to_have_count(1)
    expect(student.locator("[data-testid=ask-human]")).to_be_visible()

    # Thumbs up shows the chosen state in place.
    answer.locator("[data-testid=thumb-up]").click()
    expect(student.locator("[data-testid=feedback-thanks]")).to_be_visible()
    expect(
        student.locator("[data-testid=coach-message][data-role=assistant]").last.locator(
            "[data-testid=thumb-up]"
        )
    ).to_have_attribute("aria-pressed", "true")

    # Something the course does not cover goes to a curator, in the same conversation.
    ask(student, UNCOVERED)
    escalated = student.locator("[data-testid=coach-message][data-role=assistant]").last
    expect(escalated.locator("[data-testid=escalated-note]")).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(escalated).to_have_attribute("data-mode", "uncovered")
    expect(student.locator("[data-testid=waiting-badge]")).to_be_visible()
    expect(student.locator("[data-testid=history-waiting]")).to_be_visible()
    assert student.url.endswith(f"?c={conversation_id}")

    # The demo curator answers it in the queue and publishes it to the course FAQ.
    curator = contexts("desktop").new_page()
    curator_errors = watch_errors(curator)
    login(curator, server_url, CURATOR_EMAIL, DEMO_PASSWORD)
    curator.click("[data-testid=curator-menu]")
    curator.click("[data-testid=nav-coach-queue]")
    curator.wait_for_url(re.compile(r"/coach/queue"))
    card = curator.locator("[data-testid=escalation][data-status=open]").filter(has_text=UNCOVERED).last
    expect(card).to_be_visible()
    expect(card.locator("[data-testid=escalation-student]")).to_have_text("Coach Learner desktop")
    card.locator("[data-testid=answer-text]").fill(CURATOR_ANSWER)
    card.locator("[data-testid=answer-publish]").check()
    faq_question = f"Does the course cover crypto taxes? ({uuid.uuid4().hex[:6]})"
    card.locator("[data-testid=answer-faq-question]").fill(faq_question)
    escalation_id = card.get_attribute("data-escalation-id")
    curator.screenshot(path=str(tmp_path / "coach-queue.png"), full_page=True)
    card.locator("[data-testid=answer-submit]").click()
    answered = curator.locator(f"[data-testid=escalation][data-escalation-id='{escalation_id}']")
    expect(answered).to_have_attribute("data-status", "answered")
    expect(answered.locator("[data-testid=published-faq]")).to_be_visible()

    # The student's open page polls while it waits: the curator's answer arrives without a reload.
    student.evaluate("window.__noReload = true")
    curator_turn = student.locator("[data-testid=coach-message][data-role=curator]")
    expect(curator_turn).to_be_visible(timeout=25_000)
    expect(curator_turn).to_contain_text("ask a local tax adviser")
    expect(student.locator("[data-testid=waiting-badge]")).to_have_count(0)
    expect(student.locator("[data-testid=history-waiting]")).to_have_count(0)
    assert student.evaluate("window.__noReload") is True, "the page reloaded"
    student.screenshot(path=str(tmp_path / "coach-chat-desktop.png"), full_page=True)

    curator.goto(f"{server_url}/coach/queue?status=answered")
    expect(curator.locator(f"[data-escalation-id='{escalation_id}']")).to_be_visible()
    curator.goto(f"{server_url}/coach/stats")
    expect(curator.locator("[data-testid=stat-resolution]")).to_be_visible()
    expect(curator.locator("canvas[data-coach-chart]")).to_have_attribute("data-drawn", "1")
    curator.screenshot(path=str(tmp_path / "coach-stats.png"), full_page=True)
    print(f"screenshots: {tmp_path}")
    assert not student_errors and not curator_errors, student_errors + curator_errors
