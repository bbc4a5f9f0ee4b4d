"""The coach's pages over HTTP: the chat and its streaming endpoint, feedback and "ask a human", the
curators' queue and the stats page, each for the roles that may use it. The embedded answerer answers."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from academy.coach.schemas import CitationRead, MessageRead
from academy.enrollment.service import enrollment_service
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.web.coach import message_html
from tests.fixtures.app import make_user, page_login
from tests.fixtures.db import reconfigure
from tests.fixtures.learning import CourseRef, enroll

COVERED = "why do i need a stop los on every trade?"
UNCOVERED = "How are my crypto trading profits taxed in Germany and which form do I file?"


async def signed_in(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    """Sign in through the login page; returns the CSRF header unsafe page requests need."""
    await page_login(client, user.email or "")
    return {"X-CSRF-Token": client.cookies["academy_csrf"]}


def events(body: str) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


async def ask(
    client: httpx.AsyncClient, csrf: dict[str, str], text: str, **fields: Any
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """What coach.js does: post the form and read the event stream to its `done`."""
    form = {"text": text, "conversation_id": "", "course_id": "", "lesson_id": ""}
    form |= {k: str(v) for k, v in fields.items()}
    r = await client.post("/coach/messages", data=form, headers=csrf | {"HX-Request": "true"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    assert got[0][0] == "meta" and got[-1][0] == "done", [k for k, _ in got]
    return got, got[-1][1]


@pytest.fixture
async def student(real_course: CourseRef) -> User:
    user = await make_user(role=Role.student, name="Stella Student")
    await enroll(user, real_course.id)
    return user


@pytest.fixture
async def curator(real_course: CourseRef) -> User:
    user = await make_user(role=Role.curator, name="Cory Curator")
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, user, real_course.id)
    return user


async def test_chat_page_for_signed_in_users_and_login_for_anonymous(client, student):
    anonymous = await client.get("/coach")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await signed_in(client, student)
    page = await client.get("/coach")
    assert page.status_code == 200
    assert 'data-testid="coach-empty"' in page.text and 'data-testid="coach-example"' in page.text
    assert 'data-testid="history-empty"' in page.text
    assert "50 messages left today" in page.text
    assert 'href="/coach"' in page.text and 'href="/coach/queue"' not in page.text
    assert '<script src="/static/coach.js"' in page.text
    # The student's enrolled course is offered, and chosen, for a new conversation.
    assert re.search(r'<option value="\d+" selected>Trading Foundations</option>', page.text)


async def test_the_answer_streams_and_ends_with_the_rendered_bubble(client, student, real_course):
    csrf = await signed_in(client, student)
    got, done = await ask(client, csrf, COVERED, course_id=real_course.id)
    meta = got[0][1]
    assert meta["mode"] == "answer" and meta["conversation_id"] == done["message"]["conversation_id"]
    tokens = "".join(d["text"] for kind, d in got if kind == "token")
    assert tokens and tokens.strip() == done["message"]["text"].strip()
    message = done["message"]
    assert message["citations"] and done["escalation_id"] is None
    html = done["html"]
    assert f'id="coach-msg-{message["id"]}"' in html and 'data-testid="citation-marker"' in html
    first = message["citations"][0]
    assert f'href="{first["url"]}"' in html and 'data-testid="thumb-up"' in html

    conversation_id = meta["conversation_id"]
    page = await client.get(f"/coach?c={conversation_id}")
    assert page.status_code == 200
    assert COVERED in page.text and 'data-testid="citation"' in page.text
    assert page.text.count('data-testid="history-item"') == 1
    assert f'value="{conversation_id}"' in page.text  # the box continues this conversation
    assert "49 messages left today" in page.text

    # The history list refreshes itself as a block.
    block = await client.get(
        f"/coach?c={conversation_id}", headers={"HX-Request": "true", "HX-Target": "coach-history"}
    )
    assert 'data-testid="history-item"' in block.text and "<html" not in block.text


async def test_asking_needs_the_csrf_token(client, student):
    await signed_in(client, student)
    r = await client.post("/coach/messages", data={"text": COVERED})
    assert r.status_code == 403
    page = await client.get("/coach")
    assert 'data-testid="history-empty"' in page.text


async def test_a_blank_question_and_the_daily_limit_come_back_as_messages(client, student, monkeypatch):
    csrf = await signed_in(client, student) | {"HX-Request": "true"}
    blank = await client.post("/coach/messages", data={"text": "   "}, headers=csrf)
    assert blank.status_code == 422
    assert json.loads(blank.headers["HX-Trigger"])["academy:toast"]["message"] == "Write a question"
    bad_lesson = await client.post("/coach/messages", data={"text": COVERED, "lesson_id": "x"}, headers=csrf)
    assert bad_lesson.status_code == 422

    reconfigure(monkeypatch, coach_daily_messages="1")
    await ask(client, csrf, COVERED)
    over = await client.post("/coach/messages", data={"text": "And one more?"}, headers=csrf)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    toast = json.loads(over.headers["HX-Trigger"])["academy:toast"]["message"]
    assert toast == "You have used all of today's messages to Alex. Come back tomorrow."
    page = await client.get("/coach")
    assert 'data-testid="coach-remaining"' in page.text and "No messages left for today" in page.text


async def test_feedback_and_ask_a_human_through_the_page_routes(client, new_client, student, real_course):
    csrf = await signed_in(client, student)
    _, done = await ask(client, csrf, COVERED, course_id=real_course.id)
    message_id = done["message"]["id"]
    conversation_id = done["message"]["conversation_id"]

    down = await client.post(
        f"/coach/messages/{message_id}/feedback",
        data={"value": "-1", "comment": "Too short"},
        headers=csrf | {"HX-Request": "true"},
    )
    assert down.status_code == 200
    assert 'data-feedback="-1"' in down.text and 'data-testid="feedback-thanks"' in down.text
    assert re.search(r'btn-danger" aria-pressed="true"[^>]*data-testid="thumb-down"', down.text)
    wrong = await client.post(f"/coach/messages/{message_id}/feedback", data={"value": "5"}, headers=csrf)
    assert wrong.status_code == 422
    no_token = await client.post(f"/coach/messages/{message_id}/feedback", data={"value": "1"})
    assert no_token.status_code == 403

    human = await client.post(
        f"/coach/conversations/{conversation_id}/ask-human", headers=csrf | {"HX-Request": "true"}
    )
    assert human.status_code == 200
    assert 'data-testid="waiting-badge"' in human.text and 'hx-trigger="every 10s' in human.text
    fragment = await client.get(f"/coach/conversations/{conversation_id}")
    assert 'data-waiting="true"' in fragment.text and "<html" not in fragment.text

    other = new_client()
    await signed_in(other, await make_user(role=Role.student))
    assert (await other.get(f"/coach/conversations/{conversation_id}")).status_code == 404
    assert (await other.get(f"/coach?c={conversation_id}")).status_code == 404


async def test_curators_answer_in_the_queue_and_the_student_sees_it(
    client, new_client, student, curator, real_course
):
    csrf = await signed_in(client, student)
    _, done = await ask(client, csrf, UNCOVERED, course_id=real_course.id)
    assert done["escalation_id"] and 'data-testid="escalated-note"' in done["html"]
    conversation_id = done["message"]["conversation_id"]
    assert (await client.get("/coach/queue")).status_code == 403
    waiting = await client.get("/coach")
    assert 'data-testid="history-waiting"' in waiting.text

    staff = new_client()
    staff_csrf = await signed_in(staff, curator)
    queue = await staff.get("/coach/queue")
    assert queue.status_code == 200 and 'href="/coach/queue"' in queue.text
    assert (
        UNCOVERED in queue.text and "Stella Student" in queue.text and "Alex was not confident" in queue.text
    )
    escalation_id = done["escalation_id"]
    assert f'data-escalation-id="{escalation_id}"' in queue.text

    short = await staff.post(
        f"/coach/queue/{escalation_id}/answer",
        data={"answer": "no"},
        headers=staff_csrf | {"HX-Request": "true"},
    )
    assert short.status_code == 422 and "is-invalid" in short.text and 'data-status="open"' in short.text
    answered = await staff.post(
        f"/coach/queue/{escalation_id}/answer",
        data={
            "answer": "Ask a local tax adviser; the course does not cover German crypto taxes.",
            "publish": "on",
            "faq_question": "How are crypto profits taxed in Germany?",
        },
        headers=staff_csrf | {"HX-Request": "true"},
    )
    assert answered.status_code == 200, answered.text
    assert 'data-status="answered"' in answered.text and 'data-testid="published-faq"' in answered.text
    again = await staff.post(
        f"/coach/queue/{escalation_id}/answer", data={"answer": "Twice?"}, headers=staff_csrf
    )
    assert again.status_code == 409
    assert 'data-testid="queue-empty"' in (await staff.get("/coach/queue")).text
    answered_list = await staff.get(f"/coach/queue?status=answered&course={real_course.id}")
    assert f'data-escalation-id="{escalation_id}"' in answered_list.text

    conversation = await client.get(f"/coach/conversations/{conversation_id}")
    assert 'data-role="curator"' in conversation.text and "local tax adviser" in conversation.text
    assert 'data-waiting="false"' in conversation.text and "Cory Curator" in conversation.text


async def test_stats_page_for_curators_with_a_date_range(client, new_client, student, curator, real_course):
    csrf = await signed_in(client, student)
    await ask(client, csrf, COVERED, course_id=real_course.id)
    await ask(client, csrf, UNCOVERED, course_id=real_course.id)
    assert (await client.get("/coach/stats")).status_code == 403

    staff = new_client()
    await signed_in(staff, curator)
    page = await staff.get("/coach/stats")
    assert page.status_code == 200
    assert 'data-testid="stat-resolution"' in page.text and "50%" in page.text
    assert 'id="coach-topics"' in page.text and 'data-testid="cluster"' in page.text
    assert "/static/vendor/chart.umd.min.js" in page.text
    topics = re.search(r'<script type="application/json" id="coach-topics">(.*?)</script>', page.text, re.S)
    assert topics and json.loads(topics.group(1))["values"] == [1]

    today = datetime.now().date().isoformat()
    ranged = await staff.get(f"/coach/stats?start=2020-01-01&end={today}&course={real_course.id}")
    assert ranged.status_code == 200 and 'value="2020-01-01"' in ranged.text
    empty = await staff.get("/coach/stats?start=2020-01-01&end=2020-01-31")
    assert empty.status_code == 200 and "No escalations in this period" in empty.text
    backwards = await staff.get("/coach/stats?start=2024-02-01&end=2024-01-01")
    assert backwards.status_code == 422 and 'data-testid="error-end"' in backwards.text
    nonsense = await staff.get("/coach/stats?start=yesterday")
    assert nonsense.status_code == 422 and "YYYY-MM-DD" in nonsense.text


async def test_lesson_pages_have_the_ask_alex_panel(client, student, real_course):
    await signed_in(client, student)
    lesson_id = real_course.lessons[0]
    page = await client.get(f"/lessons/{lesson_id}")
    assert page.status_code == 200
    assert 'data-testid="ask-alex"' in page.text and 'data-coach-page="panel"' in page.text
    assert f'name="lesson_id" value="{lesson_id}"' in page.text
    assert f'name="course_id" value="{real_course.id}"' in page.text


def _message(text: str, citations: list[CitationRead]) -> MessageRead:
    return MessageRead(
        id=1,
        conversation_id=1,
        role="assistant",
        text=text,
        citations=citations,
        confidence=0.9,
        provider="test",
        mode="answer",
        escalated=False,
        feedback=None,
        author_name=None,
        created_at=datetime(2026, 1, 1),
    )


def test_message_text_is_escaped_and_markers_link_to_their_citations():
    citation = CitationRead(
        n=1, document_id=7, kind="lesson", title='Stops "101"', heading="Why", url="/lessons/3#why"
    )
    evil = CitationRead(n=2, document_id=8, kind="faq", title="x", heading="", url="javascript:alert(1)")
    html = str(
        message_html(_message("Use a stop [1].\n<script>x</script> [2] [9]\n\nNext", [citation, evil]))
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="/lessons/3#why" class="coach-marker" title="Stops &#34;101&#34;"' in html
    assert 'href="#"' in html and "javascript:" not in html
    assert "[9]" in html  # a marker without a citation stays text
    assert html.count("<p>") == 2 and "<br>" in html
