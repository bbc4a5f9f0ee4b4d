"""The curator's day in a real browser: the demo curator opens the dashboard, filters the roster to
the students at risk (the URL follows, the page does not reload), nudges one and sees the row say so
(a student nudged too recently is refused with a toast), finds the nudge on the student's page, sees
a new homework submission arrive in the live panel, and confirms the AI's proposed grade for it in
the review queue. On a phone the dashboard fits the screen.

The submission is seeded the way a student makes one: over the public API (register, enrol, submit),
so the server's own worker pre-grades it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browsing import CURATOR_EMAIL, DEMO_PASSWORD, login, watch_errors

pytestmark = pytest.mark.e2e

PASSWORD = "curator-journey-123"
COURSE_SLUG = "trading-foundations"
# /ws catches up from the notifications table every 3 s without Redis.
LIVE_TIMEOUT = 15_000


def submit_homework(server_url: str) -> tuple[str, int]:
    """A new student enrols in the demo course and answers its first text homework; returns the
    student's name and the submission id."""
    name = f"Journey Learner {uuid.uuid4().hex[:6]}"
    email = f"curator-journey-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=server_url, timeout=20) as api:
        r = api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name})
        assert r.status_code in (200, 201), r.text
        r = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        courses = api.get("/api/v1/courses", headers=auth).json()
        items = courses["items"] if isinstance(courses, dict) else courses
        course_id = next(c["id"] for c in items if c["slug"] == COURSE_SLUG)
        r = api.post("/api/v1/enrollments", json={"course_id": course_id}, headers=auth)
        assert r.status_code in (200, 201), r.text
        assignments = api.get("/api/v1/assignments", params={"course_id": course_id}, headers=auth).json()
        text_homework = [a for a in assignments if a["kind"] == "text" and a["rubric"]]
        assert text_homework, "the demo course has no text homework with a rubric"
        assignment = text_homework[0]
        answer = (
            "I risk at most 1% of my account per trade and always place a stop-loss below the last swing "
            "low before I enter. I keep a trading journal with a screenshot of every trade and review my "
            "plan every Sunday; after three losses in a row I stop for the day."
        )
        r = api.post(
            f"/api/v1/assignments/{assignment['id']}/submissions", json={"text": answer}, headers=auth
        )
        assert r.status_code == 201, r.text
    return name, int(r.json()["id"])


def nudge_someone(page: Page) -> str:
    """Nudge the first at-risk student the cap allows (the demo curator nudged some recently)."""
    rows = page.locator("[data-testid=student-row]")
    for i in range(rows.count()):
        row = rows.nth(i)
        enrollment_id = row.get_attribute("data-enrollment-id") or ""
        nudge_url = f"/curator/students/{enrollment_id}/nudge"
        with page.expect_response(lambda r, url=nudge_url: r.url.endswith(url)) as info:
            row.locator("[data-testid=nudge-button]").click()
        if info.value.status == 200:
            fresh = page.locator(f"#student-row-{enrollment_id}")
            expect(fresh.locator("[data-testid=last-nudge]")).to_contain_text("Nudged just now")
            expect(fresh.locator("[data-testid=nudge-button]")).to_be_disabled()
            return enrollment_id
        assert info.value.status == 409, info.value.status
        # Refused by the cap: a toast says when the next nudge is possible; the row stays.
        expect(page.locator("#toasts .toast").last).to_contain_text("The next nudge is possible on")
        expect(page.locator(f"#student-row-{enrollment_id}")).to_be_visible()
    raise AssertionError("every at-risk student on the first page was nudged too recently")


def test_a_curators_day(contexts: Any, server_url: str, tmp_path: Path) -> None:
    page = contexts("desktop").new_page()
    errors = watch_errors(page)
    login(page, server_url, CURATOR_EMAIL, DEMO_PASSWORD)
    page.click("[data-testid=curator-menu]")
    page.click("[data-testid=nav-curator]")
    page.wait_for_url(re.compile(r"/curator$"))
    expect(page.locator("[data-testid=card-active_weekly]")).to_be_visible()
    expect(page.locator("canvas[data-curator-chart=curator-active]")).to_have_attribute("data-drawn", "1")
    expect(page.locator("[data-testid=retention-table]")).to_be_visible()
    at_risk = int(page.locator("[data-testid=count-at_risk]").inner_text())
    assert at_risk > 0, "the demo school should have students at risk"

    # Filtering swaps the table in place and pushes the URL.
    page.evaluate("window.__noReload = true")
    page.click("[data-testid=tab-at_risk]")
    page.wait_for_url(re.compile(r"/curator\?status=at_risk$"))
    expect(page.locator("[data-testid=tab-at_risk]")).to_have_class(re.compile(r"\bactive\b"))
    rows = page.locator("[data-testid=student-row]")
    expect(rows.first).to_be_visible()
    statuses = set(rows.evaluate_all("rows => rows.map(r => r.dataset.status)"))
    assert statuses == {"at_risk"}, statuses
    assert page.evaluate("window.__noReload") is True, "the page reloaded"
    button = rows.first.locator("[data-testid=nudge-button]").bounding_box()
    roster = page.locator("[data-testid=roster]").bounding_box()
    assert button and roster and button["x"] + button["width"] <= roster["x"] + roster["width"], (
        button,
        roster,
    )

    enrollment_id = nudge_someone(page)
    page.screenshot(path=str(tmp_path / "curator-dashboard.png"), full_page=True)

    # The nudge is on the student's page, waiting to see whether they come back.
    page.locator(f"#student-row-{enrollment_id} [data-testid=student-name]").click()
    page.wait_for_url(re.compile(rf"/curator/students/{enrollment_id}$"))
    expect(page.locator("[data-testid=risk-reasons]").first).to_be_visible()
    first_nudge = page.locator("[data-testid=nudge-row]").first
    expect(first_nudge.locator("[data-testid=nudge-outcome]")).to_have_text("Pending")
    expect(first_nudge).to_contain_text("By a curator")

    # Reload-safe: the filtered address opens the same view.
    page.goto(f"{server_url}/curator?status=at_risk")
    expect(page.locator("[data-testid=tab-at_risk]")).to_have_class(re.compile(r"\bactive\b"))

    # A student hands in homework while the dashboard is open: the panel shows it without a reload.
    page.evaluate("window.__noReload = true")
    student_name, submission_id = submit_homework(server_url)
    panel = page.locator("[data-testid=curator-notifications]")
    arrived = panel.locator("[data-testid=curator-notification][data-kind=homework_submitted]").filter(
        has_text=student_name
    )
    expect(arrived).to_be_visible(timeout=LIVE_TIMEOUT)
    assert page.evaluate("window.__noReload") is True, "the page reloaded"

    # The notification opens the submission for review.
    arrived.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/curator/reviews/{submission_id}$"))
    expect(page.locator("[data-testid=student-name]")).to_have_text(student_name)
    expect(page.locator("[data-testid=submission]")).to_contain_text("stop-loss below the last swing low")

    # In the queue of AI-proposed grades, the curator confirms the oldest proposal as it is. (The
    # new submission joins that queue once the server's worker has pre-graded it; the demo's
    # backlog of jobs makes that too slow to wait for here.)
    page.click("[data-testid=curator-menu]")
    page.click("[data-testid=nav-reviews]")
    page.wait_for_url(re.compile(r"/curator/reviews(\?.*)?$"))
    page.locator("[data-testid=review-row]").first.locator("[data-testid=open-review]").click()
    page.wait_for_url(re.compile(r"/curator/reviews/\d+"))
    reviewed = page.url.split("?")[0]
    expect(page.locator("[data-testid=ai-proposal]")).to_be_visible()
    expect(page.locator("[data-testid=ai-badge]")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/confirm")) as confirmed:
        page.click("[data-testid=confirm]")
    assert confirmed.value.status == 303, confirmed.value.status
    page.goto(reviewed)
    expect(page.locator("[data-testid=reviewed-by]")).to_contain_text("AI proposal confirmed")
    assert not errors, errors


def test_the_dashboard_fits_a_phone(contexts: Any, server_url: str, tmp_path: Path) -> None:
    page = contexts("phone").new_page()
    errors = watch_errors(page)
    login(page, server_url, CURATOR_EMAIL, DEMO_PASSWORD)
    page.goto(f"{server_url}/curator?status=at_risk")
    expect(page.locator("[data-testid=student-row]").first).to_be_visible()
    # The one-click nudge is on screen without scrolling the table sideways.
    box = page.locator("[data-testid=nudge-button]").first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    # Typing in the search box filters after a pause and keeps the address in step.
    first_name = page.locator("[data-testid=student-name]").first.inner_text().split()[0]
    page.locator("[data-testid=roster-search]").press_sequentially(first_name, delay=40)
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [first_name])
    expect(page.locator("[data-testid=student-name]").first).to_contain_text(first_name)
    page.screenshot(path=str(tmp_path / "curator-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    assert not errors, errors
