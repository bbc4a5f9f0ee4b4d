"""The curator's pages over HTTP: the dashboard (cards, roster, filters as URLs, HTMX fragments, the
live panel), one-click nudges and their cap, a student's detail, the metrics page, and who may see
what. Data is built through the services, with the history backdated by `clock.frozen`."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from academy.enrollment.service import enrollment_service
from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.retention.service import retention_service
from tests.fixtures.app import make_user, page_login
from tests.fixtures.db import reconfigure
from tests.fixtures.learning import CourseRef, complete, enroll, make_course

FRAGMENT = {"HX-Request": "true", "HX-Target": "curator-students"}


async def signed_in(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    """Sign in through the login page; returns the CSRF header unsafe page requests need."""
    await page_login(client, user.email or "")
    return {"X-CSRF-Token": client.cookies["academy_csrf"]}


async def curator_of(course_id: int, name: str) -> User:
    user = await make_user(role=Role.curator, name=name)
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, user, course_id)
    return user


async def student_enrolled(course_id: int, name: str, email: str, *, days_ago: int = 0) -> tuple[User, int]:
    """A student who enrolled `days_ago` days ago and has done nothing since (enrolling is activity)."""
    user = await make_user(role=Role.student, name=name, email=email)
    with clock.frozen(clock.now() - timedelta(days=days_ago)):
        enrollment_id = await enroll(user, course_id)
    return user, enrollment_id


async def rescore(course_id: int) -> None:
    async with UnitOfWork() as uow:
        await retention_service.rescore(uow.session, course_id=course_id)


def names(html: str) -> list[str]:
    return re.findall(r'data-testid="student-name">([^<]+)<', html)


@pytest.fixture(autouse=True)
def _manual_nudges_only(settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """These pages are dated from the real clock, and whether rescoring nudges automatically depends
    on the hour (quiet hours) and the hold-out draw on the moment an episode opens: the nudges here
    are the ones the tests send, and no episode is held out."""
    reconfigure(monkeypatch, nudge_auto="false", nudge_holdout_share="0")


@pytest.fixture
async def course(tmp_path: Path) -> CourseRef:
    return await make_course(tmp_path, slug="risk-course", title="Risk Course", lessons=4, quiz=False)


@pytest.fixture
async def school(course: CourseRef) -> dict[str, object]:
    """Anna has been quiet for 15 days (at risk), Bob studied today (active); then a rescoring."""
    curator = await curator_of(course.id, "Cora Curator")
    anna, anna_enrollment = await student_enrolled(course.id, "Anna Quiet", "anna@example.com", days_ago=15)
    bob, bob_enrollment = await student_enrolled(course.id, "Bob Busy", "bob@example.com")
    await complete(bob, course.lessons[0])
    await rescore(course.id)
    return {
        "curator": curator,
        "anna": anna,
        "anna_enrollment": anna_enrollment,
        "bob": bob,
        "bob_enrollment": bob_enrollment,
    }


async def test_the_dashboard_shows_cards_roster_panel_and_charts(client, school, course):
    await signed_in(client, school["curator"])
    page = await client.get("/curator")
    assert page.status_code == 200, page.text
    html = page.text
    assert set(names(html)) == {"Anna Quiet", "Bob Busy"}
    # Highest risk first by default; Anna's badge carries the reasons in words.
    assert names(html)[0] == "Anna Quiet"
    anna_row = html[html.index(f'id="student-row-{school["anna_enrollment"]}"') :]
    anna_row = anna_row[: anna_row.index("</tr>")]
    assert 'data-status="at_risk"' in anna_row and 'data-level="high"' in anna_row
    assert "no activity for 15 days" in anna_row
    assert 'data-testid="nudge-button"' in anna_row and "15 days ago" in anna_row
    assert re.search(r'data-testid="count-at_risk">1<', html)
    assert re.search(r'data-testid="count-active">1<', html)
    assert re.search(r'data-testid="count-all">2<', html)
    assert re.search(rf'<option value="{course.id}" >Risk Course</option>', html)
    # The cards and charts are not computed for the page: it carries placeholders that load them.
    assert 'data-testid="card-active_weekly"' not in html and 'data-testid="retention-table"' not in html
    assert re.search(r'id="curator-cards"[^>]*hx-get="/curator/cards" hx-trigger="load"', html)
    assert re.search(r'id="curator-charts"[^>]*hx-get="/curator/charts" hx-trigger="load"', html)
    assert "Loading the figures" in html and "Loading the charts" in html
    assert 'src="/static/vendor/chart.umd.min.js"' in html and 'src="/static/curator.js"' in html

    cards = await client.get("/curator/cards", headers={"HX-Request": "true"})
    assert cards.status_code == 200, cards.text
    html = cards.text
    assert "<html" not in html and 'id="curator-cards"' in html and "hx-get" not in html
    # Cards come from the metrics, homework and retention services.
    for key in (
        "active_weekly",
        "at_risk",
        "completion_rate",
        "pending_review",
        "turnaround_median_hours",
        "ai_agreement_exact",
        "nudge_return_rate",
        "coach_resolution_rate",
        "curator_hours_saved",
    ):
        assert f'data-testid="card-{key}"' in html, key
    assert re.search(
        r'data-testid="metric-at_risk"><a href="/curator\?status=at_risk" class="text-reset">1<', html
    )
    assert re.search(
        r'data-testid="metric-pending_review"><a href="/curator/reviews" class="text-reset">0<', html
    )
    # Bob's lesson today and Anna's enrolment 15 days ago: one active this week, two this month.
    assert re.search(r'data-testid="metric-active_weekly">1<', html)
    assert "1 today" in html

    charts = await client.get("/curator/charts", headers={"HX-Request": "true"})
    assert charts.status_code == 200, charts.text
    html = charts.text
    assert "<html" not in html and 'id="curator-charts"' in html and "hx-get" not in html
    assert 'data-curator-chart="curator-active"' in html
    # The chart's data: 30 days, the last (today) with Bob, the one 15 days ago with Anna.
    data = re.search(r'<script[^>]*id="curator-active"[^>]*>(.*?)</script>', html, re.S)
    assert data is not None, html
    values = json.loads(data.group(1))["values"]
    assert len(values) == 30 and values[-1] == 1 and values[-16] == 1 and sum(values) == 2
    # Nobody was nudged or held out yet: an honest empty state rather than a chart of nothing.
    assert 'data-testid="nudge-empty"' in html
    assert 'data-testid="retention-table"' in html


async def test_a_course_filter_leaves_the_cards_on_every_course(client, school, course, tmp_path):
    other = await make_course(
        tmp_path / "second", slug="second-course", title="Second", lessons=2, quiz=False
    )
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, school["curator"], other.id)
    await student_enrolled(other.id, "Cleo Second", "cleo@example.com", days_ago=30)
    await signed_in(client, school["curator"])
    page = await client.get("/curator", params={"course": other.id})
    assert names(page.text) == ["Cleo Second"]
    # Cleo enrolled 30 days ago and never came back: dropped, not at risk.
    assert re.search(r'data-testid="count-dropped">1<', page.text)
    cards = (await client.get("/curator/cards")).text
    assert re.search(r'data-testid="metric-at_risk"><a [^>]*>1<', cards)


async def test_the_fragments_are_refused_to_students(client, school):
    await signed_in(client, school["anna"])
    for path in ("/curator/cards", "/curator/charts"):
        r = await client.get(path, headers={"HX-Request": "true"})
        assert r.status_code == 403, path


async def test_the_course_select_offers_only_the_viewers_courses(client, school, course, tmp_path):
    other = await make_course(
        tmp_path / "other", slug="other-course", title="Other Course", lessons=2, quiz=False
    )
    await signed_in(client, school["curator"])
    html = (await client.get("/curator")).text
    assert f'<option value="{course.id}"' in html and f'<option value="{other.id}"' not in html
    # An explicit course outside the curator's scope is refused, not silently widened.
    assert (await client.get(f"/curator?course={other.id}")).status_code == 403


async def test_an_htmx_filter_returns_only_the_fragment(client, school):
    await signed_in(client, school["curator"])
    r = await client.get("/curator?status=at_risk", headers=FRAGMENT)
    assert r.status_code == 200
    assert "<html" not in r.text and 'data-testid="metric-cards"' not in r.text
    assert r.text.lstrip().startswith('<div id="curator-students"')
    assert names(r.text) == ["Anna Quiet"]
    assert 'name="status" value="at_risk"' in r.text
    assert re.search(r'class="nav-link text-nowrap active"[^>]*data-testid="tab-at_risk"', r.text)

    active = await client.get("/curator?status=active", headers=FRAGMENT)
    assert names(active.text) == ["Bob Busy"]
    # The same URL without HTMX is the whole page, filtered the same way (reload-safe).
    full = await client.get("/curator?status=active")
    assert "<html" in full.text and names(full.text) == ["Bob Busy"]

    nobody = await client.get("/curator?status=completed", headers=FRAGMENT)
    assert names(nobody.text) == [] and 'data-testid="roster-empty"' in nobody.text
    assert "No students match" in nobody.text

    bad = await client.get("/curator?status=nonsense")
    assert bad.status_code == 422


async def test_search_and_sort(client, school):
    await signed_in(client, school["curator"])
    found = await client.get("/curator?q=bob", headers=FRAGMENT)
    assert names(found.text) == ["Bob Busy"]
    by_email = await client.get("/curator?q=anna%40example", headers=FRAGMENT)
    assert names(by_email.text) == ["Anna Quiet"]

    ascending = await client.get("/curator?sort=name&order=asc", headers=FRAGMENT)
    assert names(ascending.text) == ["Anna Quiet", "Bob Busy"]
    descending = await client.get("/curator?sort=name&order=desc", headers=FRAGMENT)
    assert names(descending.text) == ["Bob Busy", "Anna Quiet"]
    # The active column's header offers the opposite order; the others start from their natural one.
    assert re.search(r'href="/curator\?sort=name"[^>]*data-testid="sort-name"', ascending.text)
    assert re.search(r'href="/curator\?sort=name&amp;order=asc"[^>]*data-testid="sort-name"', descending.text)
    assert re.search(r'href="/curator\?sort=progress"[^>]*data-testid="sort-progress"', ascending.text)
    by_progress = await client.get("/curator?sort=progress&order=desc", headers=FRAGMENT)
    assert names(by_progress.text) == ["Bob Busy", "Anna Quiet"]


async def test_pagination_links_keep_the_filters(client, school, course):
    await student_enrolled(course.id, "Cleo Quiet", "cleo@example.com", days_ago=16)
    await rescore(course.id)
    await signed_in(client, school["curator"])
    first = await client.get("/curator?status=at_risk&sort=name&order=asc&size=1", headers=FRAGMENT)
    assert names(first.text) == ["Anna Quiet"]
    assert 'data-testid="pagination"' in first.text
    link = re.search(r'href="([^"]+)"[^>]*data-testid="page-2"', first.text)
    assert link, first.text
    url = link.group(1).replace("&amp;", "&")
    for part in ("status=at_risk", "sort=name", "order=asc", "size=1", "page=2"):
        assert part in url, url
    second = await client.get(url, headers=FRAGMENT)
    assert names(second.text) == ["Cleo Quiet"]
    assert re.search(r'class="page-item active"><a class="page-link" href="[^"]*page=2', second.text)
    # A search keeps its query in the page links too.
    searched = await client.get("/curator?q=quiet&size=1", headers=FRAGMENT)
    nxt = re.search(r'href="([^"]+)"[^>]*data-testid="page-2"', searched.text)
    assert nxt and "q=quiet" in nxt.group(1)


async def test_one_click_nudge_then_the_cap_refuses_a_second(client, school):
    csrf = await signed_in(client, school["curator"])
    enrollment_id = school["anna_enrollment"]
    row_headers = csrf | {"HX-Request": "true", "HX-Target": f"student-row-{enrollment_id}"}
    first = await client.post(
        f"/curator/students/{enrollment_id}/nudge", data={"channel": "auto"}, headers=row_headers
    )
    assert first.status_code == 200, first.text
    assert first.text.lstrip().startswith(f'<tr id="student-row-{enrollment_id}"')
    assert "Nudged just now" in first.text

    detail = await client.get(f"/curator/students/{enrollment_id}")
    assert detail.status_code == 200
    assert detail.text.count('data-testid="nudge-row"') == 1
    assert re.search(
        r'data-testid="nudge-outcome">\s*<span class="badge bg-secondary-lt">Pending<', detail.text
    )
    assert "By a curator" in detail.text

    second = await client.post(
        f"/curator/students/{enrollment_id}/nudge", data={"channel": "auto"}, headers=row_headers
    )
    assert second.status_code == 409
    toast = json.loads(second.headers["HX-Trigger"])["academy:toast"]["message"]
    assert toast.startswith("This student was nudged recently. The next nudge is possible on")
    assert second.headers["HX-Reswap"] == "none"

    # The detail page's form says the same inline, keeps what was typed, and answers 409.
    form = await client.post(
        f"/curator/students/{enrollment_id}/nudge",
        data={"channel": "email", "message": "Come back, Anna!", "csrf_token": csrf["X-CSRF-Token"]},
    )
    assert form.status_code == 409
    assert 'data-testid="nudge-error"' in form.text and "The next nudge is possible on" in form.text
    assert "Come back, Anna!" in form.text
    after = await client.get(f"/curator/students/{enrollment_id}")
    assert after.text.count('data-testid="nudge-row"') == 1


async def test_the_detail_form_sends_a_custom_nudge(client, school):
    csrf = await signed_in(client, school["curator"])
    enrollment_id = school["bob_enrollment"]
    detail = await client.get(f"/curator/students/{enrollment_id}")
    assert detail.status_code == 200
    assert 'data-testid="student-title">Bob Busy<' in detail.text
    assert 'data-testid="nudges-empty"' in detail.text
    assert 'data-testid="student-features"' in detail.text

    bad = await client.post(
        f"/curator/students/{enrollment_id}/nudge",
        data={"channel": "pigeon", "csrf_token": csrf["X-CSRF-Token"]},
    )
    assert bad.status_code == 422 and "automatic, email or Telegram" in bad.text

    sent = await client.post(
        f"/curator/students/{enrollment_id}/nudge",
        data={"channel": "email", "message": "Keep going, Bob!", "csrf_token": csrf["X-CSRF-Token"]},
    )
    assert (
        sent.status_code == 303 and sent.headers["location"] == f"/curator/students/{enrollment_id}?nudged=1"
    )
    page = await client.get(sent.headers["location"])
    assert 'data-testid="nudge-sent"' in page.text
    assert "Keep going, Bob!" in page.text and "Email" in page.text


async def test_the_anna_detail_lists_every_reason(client, school):
    await signed_in(client, school["curator"])
    page = await client.get(f"/curator/students/{school['anna_enrollment']}")
    assert page.status_code == 200
    reasons = re.search(r'<ul class="mb-2 ps-3" data-testid="risk-reasons">(.*?)</ul>', page.text, re.S)
    assert reasons and "no activity for 15 days" in reasons.group(1)
    assert re.search(r'data-testid="risk-score">(\d+)<', page.text)


async def test_another_courses_curator_sees_nothing_of_it(client, school, tmp_path):
    other = await make_course(
        tmp_path / "other", slug="other-course", title="Other Course", lessons=2, quiz=False
    )
    stranger = await curator_of(other.id, "Sid Stranger")
    csrf = await signed_in(client, stranger)
    page = await client.get("/curator")
    assert page.status_code == 200
    assert names(page.text) == [] and 'data-testid="roster-empty"' in page.text
    assert "Anna Quiet" not in page.text

    detail = await client.get(f"/curator/students/{school['anna_enrollment']}")
    assert detail.status_code == 404
    assert 'data-testid="user-menu"' in detail.text  # the error sits inside the layout
    nudge = await client.post(
        f"/curator/students/{school['anna_enrollment']}/nudge",
        data={"channel": "auto"},
        headers=csrf | {"HX-Request": "true", "HX-Target": f"student-row-{school['anna_enrollment']}"},
    )
    assert nudge.status_code == 404 and "HX-Trigger" in nudge.headers


async def test_an_admin_sees_every_course(client, school):
    admin = await make_user(role=Role.admin, name="Ada Admin")
    await signed_in(client, admin)
    page = await client.get("/curator")
    assert set(names(page.text)) == {"Anna Quiet", "Bob Busy"}


async def test_students_are_refused(client, school):
    await signed_in(client, school["anna"])
    for path in (
        "/curator",
        "/curator/metrics",
        "/curator/notifications",
        f"/curator/students/{school['anna_enrollment']}",
    ):
        r = await client.get(path)
        assert r.status_code == 403, path
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with anonymous:
        r = await anonymous.get("/curator")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_panel_keeps_the_curators_kinds(client, school):
    curator = school["curator"]
    async with UnitOfWork() as uow:
        await notification_service.notify(
            uow.session, curator.id, NotificationPayload(kind="system", title="Maintenance tonight")
        )
        await notification_service.notify(
            uow.session,
            curator.id,
            NotificationPayload(kind="coach", title="Your own question was answered", link="/coach?c=1"),
        )
        await notification_service.notify(
            uow.session,
            curator.id,
            NotificationPayload(kind="coach", title="A student asked for a human", link="/coach/queue"),
        )
    await signed_in(client, curator)
    panel = await client.get("/curator/notifications", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.text
    assert panel.text.lstrip().startswith('<div class="card" id="curator-notifications"')
    assert "A student asked for a human" in panel.text
    assert "Maintenance tonight" not in panel.text and "Your own question was answered" not in panel.text
    # Anna crossing into "at risk" during the rescoring notified her curator.
    kinds = re.findall(r'data-kind="([a-z_]+)"', panel.text)
    assert "student_at_risk" in kinds and kinds[0] == "coach"  # newest first


async def test_the_metrics_page(client, school, course):
    await signed_in(client, school["curator"])
    page = await client.get("/curator/metrics")
    assert page.status_code == 200
    today = clock.now().date()
    start = (today - timedelta(days=29)).isoformat()
    assert f'value="{start}"' in page.text and f'value="{today.isoformat()}"' in page.text
    assert 'data-testid="comparison-table"' in page.text
    assert re.search(r'data-testid="metric-active_weekly">1<', page.text)
    assert f'href="/api/v1/metrics/comparison?start={start}&amp;end={today.isoformat()}"' in page.text
    assert 'data-testid="retention-table"' in page.text

    scoped = await client.get(f"/curator/metrics?start={start}&end={today.isoformat()}&course={course.id}")
    assert scoped.status_code == 200 and f"course_id={course.id}" in scoped.text

    backwards = await client.get(f"/curator/metrics?start={today.isoformat()}&end={start}")
    assert backwards.status_code == 422
    assert "The end date must not be before the start date" in backwards.text
    garbled = await client.get("/curator/metrics?start=yesterday")
    assert garbled.status_code == 422 and 'data-testid="error-start"' in garbled.text


async def test_the_metrics_compare_with_the_previous_period(client, school, course):
    # Two students studied 33 days ago: the week ending 30 days ago had two active, this week has Bob.
    for n in range(2):
        await student_enrolled(course.id, f"Old {n}", f"old{n}@example.com", days_ago=33)
    await signed_in(client, school["curator"])
    page = await client.get("/curator/metrics")
    assert page.status_code == 200
    row = re.search(r'data-testid="comparison-active_weekly">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[1].strip() == "1" and cells[2].strip() == "2"
    assert "text-red" in cells[3] and "▼ 50&#37;" in cells[3]


def test_relative_times_read_naturally():
    from academy.web.curator import ago

    now = clock.now()
    with clock.frozen(now):
        assert ago(now - timedelta(seconds=5)) == "just now"
        assert ago(now - timedelta(minutes=1)) == "1 minute ago"
        assert ago(now - timedelta(hours=5)) == "5 hours ago"
        assert ago(now - timedelta(days=3, hours=2)) == "3 days ago"
        assert ago(None) == "never"


def test_page_windows_mark_gaps():
    from academy.web.curator import page_window

    assert page_window(1, 1) == [1]
    assert page_window(5, 10) == [1, None, 3, 4, 5, 6, 7, None, 10]
    assert page_window(2, 4) == [1, 2, 3, 4]


async def test_the_filter_form_as_the_browser_sends_it(client, school, course):
    """The search box submits every field of the form, empty ones included."""
    await signed_in(client, school["curator"])
    r = await client.get("/curator?q=bob&course=&status=all&sort=risk&order=desc", headers=FRAGMENT)
    assert r.status_code == 200, r.text
    assert names(r.text) == ["Bob Busy"]
    r = await client.get(
        f"/curator?q=&course={course.id}&status=at_risk&sort=risk&order=desc", headers=FRAGMENT
    )
    assert names(r.text) == ["Anna Quiet"]
    assert (await client.get("/curator?course=abc")).status_code == 422
    metrics = await client.get("/curator/metrics?start=&end=&course=")
    assert metrics.status_code == 200 and 'data-testid="comparison-table"' in metrics.text


async def test_a_page_past_the_end_offers_the_first(client, school):
    await signed_in(client, school["curator"])
    r = await client.get("/curator?status=at_risk&page=5", headers=FRAGMENT)
    assert r.status_code == 200 and names(r.text) == []
    assert "This page is empty" in r.text and 'href="/curator?status=at_risk"' in r.text
