"""The coach through its API: grounded answers, hints for graded work, refusals, escalation to the
curators and back, and who may read what. The embedded answerer answers (no model, no key)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from academy.coach.knowledge import knowledge_service
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from tests.fixtures.app import api_login, make_user
from tests.fixtures.db import reconfigure
from tests.fixtures.learning import enroll

POSITION_SIZE_QUESTION = (
    "Your account holds $20,000 and you risk 1 % per trade. You buy a stock at $40.00 with a stop at "
    "$38.00. Ignoring costs, how many shares should you buy?"
)


async def ask(client: httpx.AsyncClient, headers: dict[str, str], text: str, **extra: Any) -> dict[str, Any]:
    """Post a question and read the whole event stream: the meta, the tokens, and the final message."""
    r = await client.post("/api/v1/coach/messages", json={"text": text, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in r.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done" and "token" in kinds, kinds
    streamed = "".join(d["text"] for k, d in events if k == "token")
    done = events[-1][1]
    assert streamed.strip() == done["message"]["text"].strip()
    return {"meta": events[0][1], "message": done["message"], "escalation_id": done["escalation_id"]}


@pytest.fixture
async def student(real_course) -> User:
    user = await make_user(role=Role.student)
    await enroll(user, real_course.id)
    return user


async def test_a_covered_question_is_answered_citing_only_retrieved_chunks(client, student, real_course):
    headers = await api_login(client, student.email or "")
    question = "why do i need a stop los on every trade?"
    result = await ask(client, headers, question, course_id=real_course.id)
    message = result["message"]
    assert message["mode"] == "answer" and not message["escalated"]
    assert message["citations"], message
    async with UnitOfWork() as uow:
        hits = await knowledge_service.retrieve(uow.session, question, course_id=real_course.id, limit=5)
    retrieved = {h.document_id for h in hits}
    assert {c["document_id"] for c in message["citations"]} <= retrieved
    for c in message["citations"]:
        assert f"[{c['n']}]" in message["text"]
    assert any("stop" in c["title"].lower() for c in message["citations"])


async def test_an_uncovered_question_goes_to_a_curator_instead_of_being_invented(
    client, student, real_course
):
    curator = await make_user(role=Role.curator)
    async with UnitOfWork() as uow:
        from academy.enrollment.service import enrollment_service

        await enrollment_service.assign_curator(uow.session, curator, real_course.id)
    headers = await api_login(client, student.email or "")
    result = await ask(
        client,
        headers,
        "How do I trade the Ichimoku cloud and the kumo twist?",
        course_id=real_course.id,
    )
    message = result["message"]
    assert message["escalated"] and message["mode"] == "uncovered"
    assert message["citations"] == []
    assert result["escalation_id"]
    curator_headers = await api_login(client, curator.email or "")
    queue = (await client.get("/api/v1/coach/escalations", headers=curator_headers)).json()
    assert [e["id"] for e in queue["items"]] == [result["escalation_id"]]
    notes = (await client.get("/api/v1/notifications", headers=curator_headers)).json()["items"]
    assert any(n["kind"] == "coach" and n["link"] == "/coach/queue" for n in notes)


async def test_off_topic_and_unsafe_requests_are_refused_politely(client, student):
    headers = await api_login(client, student.email or "")
    bread = (await ask(client, headers, "What is a good recipe for sourdough bread?"))["message"]
    assert bread["mode"] == "refusal" and not bread["escalated"] and bread["citations"] == []
    hack = (await ask(client, headers, "How do I hack into my friend's exchange account?"))["message"]
    assert hack["mode"] == "refusal" and "can't help" in hack["text"]


async def test_an_open_graded_quiz_item_gets_a_hint_not_the_answer(client, student, real_course):
    headers = await api_login(client, student.email or "")
    result = await ask(client, headers, POSITION_SIZE_QUESTION, course_id=real_course.id)
    message = result["message"]
    assert message["mode"] == "hint"
    assert message["citations"]
    assert "100 shares" not in message["text"] and "= 100" not in message["text"]


async def test_open_written_homework_gets_a_hint_not_the_answer(client, student, real_course):
    from tests.fixtures.homework import make_assignment

    await make_assignment(
        real_course,
        title="Your trading plan",
        instructions=(
            "Write the entry rule, the stop loss rule and the position size rule of your trading plan."
        ),
    )
    headers = await api_login(client, student.email or "")
    question = "Write the entry rule, the stop loss rule and the position size rule for my trading plan"
    message = (await ask(client, headers, question, course_id=real_course.id))["message"]
    assert message["mode"] == "hint"


async def test_trade_questions_carry_the_not_financial_advice_notice(client, student):
    headers = await api_login(client, student.email or "")
    message = (await ask(client, headers, "Should I buy bitcoin now, is the trend up?"))["message"]
    assert "not financial advice" in message["text"]


async def test_the_escalation_loop_teaches_the_coach_for_the_next_student(
    client, new_client, student, real_course
):
    curator = await make_user(role=Role.curator)
    async with UnitOfWork() as uow:
        from academy.enrollment.service import enrollment_service

        await enrollment_service.assign_curator(uow.session, curator, real_course.id)
    headers = await api_login(client, student.email or "")
    question = "How do I trade the Ichimoku cloud and the kumo twist?"
    first = await ask(client, headers, question, course_id=real_course.id)
    assert first["message"]["escalated"]

    curator_client = new_client()
    curator_headers = await api_login(curator_client, curator.email or "")
    answer = (
        "Ichimoku is not part of this course. In short: the cloud (kumo) is the area between two "
        "averages of past highs and lows; a kumo twist is where those two lines cross, which some "
        "traders read as a possible change of trend. Treat it like any indicator: backtest a rule "
        "before you trust it."
    )
    r = await curator_client.post(
        f"/api/v1/coach/escalations/{first['escalation_id']}/answer",
        json={
            "answer": answer,
            "publish": True,
            "faq_question": "What is the Ichimoku cloud and a kumo twist?",
        },
        headers=curator_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "answered" and r.json()["faq_entry_id"]

    conversation = (
        await client.get(f"/api/v1/coach/conversations/{first['meta']['conversation_id']}", headers=headers)
    ).json()
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "curator"]
    assert conversation["messages"][-1]["text"] == answer and not conversation["waiting_for_curator"]
    notes = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
    assert any(n["kind"] == "coach" and n["link"] == f"/coach?c={conversation['id']}" for n in notes)
    faq = (await client.get(f"/api/v1/courses/{real_course.id}/faq", headers=headers)).json()
    assert any("kumo twist" in str(entry) for entry in faq)

    second = await make_user(role=Role.student)
    await enroll(second, real_course.id)
    other = new_client()
    other_headers = await api_login(other, second.email or "")
    reply = (await ask(other, other_headers, "what is a kumo twist in ichimoku?", course_id=real_course.id))[
        "message"
    ]
    assert reply["mode"] == "answer" and not reply["escalated"]
    assert any(c["kind"] == "faq" and "kumo" in c["title"] for c in reply["citations"]), reply["citations"]


async def test_a_student_cannot_read_or_touch_another_students_conversation(client, new_client, student):
    headers = await api_login(client, student.email or "")
    mine = await ask(client, headers, "What does a candlestick show?")
    conversation_id = mine["meta"]["conversation_id"]
    intruder = await make_user(role=Role.student)
    other = new_client()
    other_headers = await api_login(other, intruder.email or "")
    assert (
        await other.get(f"/api/v1/coach/conversations/{conversation_id}", headers=other_headers)
    ).status_code == 404
    assert (
        await other.post(f"/api/v1/coach/conversations/{conversation_id}/escalation", headers=other_headers)
    ).status_code == 404
    assert (
        await other.post(
            f"/api/v1/coach/messages/{mine['message']['id']}/feedback",
            json={"value": -1},
            headers=other_headers,
        )
    ).status_code == 404
    r = await other.post(
        "/api/v1/coach/messages",
        json={"text": "hello", "conversation_id": conversation_id},
        headers=other_headers,
    )
    assert r.status_code == 404
    assert (await other.get("/api/v1/coach/conversations", headers=other_headers)).json()["total"] == 0
    assert (await other.get("/api/v1/coach/escalations", headers=other_headers)).status_code == 403


async def test_feedback_ask_a_human_and_the_stats(client, new_client, student, real_course):
    headers = await api_login(client, student.email or "")
    answered = await ask(client, headers, "What is a support level?", course_id=real_course.id)
    message_id = answered["message"]["id"]
    r = await client.post(
        f"/api/v1/coach/messages/{message_id}/feedback",
        json={"value": 1, "comment": "clear"},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["feedback"] == 1
    escalated = await client.post(
        f"/api/v1/coach/conversations/{answered['meta']['conversation_id']}/escalation", headers=headers
    )
    assert escalated.status_code == 201 and escalated.json()["reason"] == "asked_human"

    admin = await make_user(role=Role.admin)
    admin_client = new_client()
    admin_headers = await api_login(admin_client, admin.email or "")
    stats = (await admin_client.get("/api/v1/coach/stats", headers=admin_headers)).json()
    assert stats["questions"] == 1 and stats["answered_by_ai"] == 1 and stats["resolution_rate"] == 1.0
    assert stats["feedback_up"] == 1 and stats["escalations"] == 1 and stats["open_escalations"] == 1
    assert stats["median_ms"] is not None and stats["p95_ms"] >= stats["median_ms"]
    assert stats["unanswered_clusters"][0]["label"] == "What is a support level?"


async def test_the_daily_question_limit(client, student, monkeypatch):
    reconfigure(monkeypatch, coach_daily_messages="2")
    headers = await api_login(client, student.email or "")
    await ask(client, headers, "What is a candlestick?")
    await ask(client, headers, "What is a trend?")
    r = await client.post("/api/v1/coach/messages", json={"text": "What is volume?"}, headers=headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_stats_take_dates_without_a_time_zone_as_utc(client, new_client, student):
    admin = await make_user(role=Role.admin)
    headers = await api_login(client, admin.email or "")
    r = await client.get("/api/v1/coach/stats?start=2026-01-01T00:00:00", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["start"].startswith("2026-01-01T00:00:00")
    reversed_range = await client.get(
        "/api/v1/coach/stats?start=2026-02-01T00:00:00&end=2026-01-01T00:00:00", headers=headers
    )
    assert reversed_range.status_code == 422
