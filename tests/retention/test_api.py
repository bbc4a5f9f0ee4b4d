"""The retention JSON API: roster, counts, student detail, manual nudges, returns and scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import Role
from academy.retention.service import retention_service
from tests.fixtures.app import api_login, make_user
from tests.fixtures.db import reconfigure
from tests.fixtures.homework import make_curator
from tests.fixtures.learning import make_course
from tests.retention.builders import (
    NOON,
    add_activity,
    days,
    episodes,
    nudges,
    rescore,
    student_with_history,
)


async def _school(tmp_path):
    """Two courses, a curator each, and students in every roster status of the first course.

    Dated back from the real now: API tokens are checked against the real clock."""
    now = clock.now()
    course = await make_course(tmp_path, lessons=3, quiz=False, title="Risk Basics")
    other = await make_course(tmp_path, slug="other", lessons=1, quiz=False, title="Other Course")
    curator = await make_curator(course.id, email="cur@example.com")
    other_curator = await make_curator(other.id, email="other@example.com")
    people = {}
    people["active"] = await student_with_history(
        course.id,
        enrolled=now - days(4),
        lessons=[(course.lessons[0], now - days(2))],
        name="Anna Active",
    )
    people["idle"] = await student_with_history(course.id, enrolled=now - days(10), name="Boris Idle")
    await add_activity(people["idle"][0].id, course.id, now - days(8))
    people["at_risk"] = await student_with_history(course.id, enrolled=now - days(16), name="Ирина Риск")
    people["dropped"] = await student_with_history(course.id, enrolled=now - days(40), name="Dmitri Gone")
    people["completed"] = await student_with_history(
        course.id,
        enrolled=now - days(20),
        lessons=[(lesson, now - days(19)) for lesson in course.lessons],
        name="Carla Done",
    )
    people["elsewhere"] = await student_with_history(other.id, enrolled=now - days(16), name="Eve Elsewhere")
    await rescore(now)
    return course, other, curator, other_curator, people


async def test_roster_statuses_counts_and_scope(settings, client, tmp_path):
    course, _other, _curator, _other_curator, people = await _school(tmp_path)
    headers = await api_login(client, "cur@example.com")
    r = await client.get("/api/v1/students", headers=headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 5
    statuses = {row["name"]: row["status"] for row in page["items"]}
    assert statuses == {
        "Anna Active": "active",
        "Boris Idle": "idle",
        "Ирина Риск": "at_risk",
        "Dmitri Gone": "dropped",
        "Carla Done": "completed",
    }
    # Highest risk first by default; the at-risk row carries its reasons in words.
    first = page["items"][0]
    assert first["name"] in ("Ирина Риск", "Dmitri Gone")
    risky = next(row for row in page["items"] if row["status"] == "at_risk")
    assert risky["risk"]["at_risk"] and risky["risk"]["level"] == "high"
    assert risky["risk"]["reasons"][0]["text"] == "no activity for 16 days"
    anna = next(row for row in page["items"] if row["name"] == "Anna Active")
    assert (anna["lessons_done"], anna["lessons_total"], anna["progress_pct"]) == (1, 3, 33)
    assert anna["last_activity_at"] is not None

    counts = (await client.get("/api/v1/students/counts", headers=headers)).json()
    assert counts == {"all": 5, "at_risk": 1, "active": 1, "idle": 1, "dropped": 1, "completed": 1}
    for status, n in counts.items():
        r = await client.get("/api/v1/students", params={"status": status}, headers=headers)
        assert r.json()["total"] == n, status

    # The other course's curator sees only theirs; an explicit course outside the scope is 403.
    other_headers = await api_login(client, "other@example.com")
    mine = (await client.get("/api/v1/students", headers=other_headers)).json()
    assert [row["name"] for row in mine["items"]] == ["Eve Elsewhere"]
    r = await client.get("/api/v1/students", params={"course_id": course.id}, headers=other_headers)
    assert r.status_code == 403
    at_risk_id = people["at_risk"][1]
    r = await client.get(f"/api/v1/enrollments/{at_risk_id}/risk", headers=other_headers)
    assert r.status_code == 404
    # Whether rescoring nudged automatically depends on the hour (quiet hours); the refusal adds none.
    before = len(await nudges([at_risk_id]))
    r = await client.post(f"/api/v1/enrollments/{at_risk_id}/nudges", json={}, headers=other_headers)
    assert r.status_code == 404
    assert len(await nudges([at_risk_id])) == before

    # Admins see every course; students get 403 on the roster.
    admin = await make_user(role=Role.admin, email="boss@example.com")
    assert admin
    everything = (
        await client.get("/api/v1/students", headers=await api_login(client, "boss@example.com"))
    ).json()
    assert everything["total"] == 6
    student_headers = await api_login(client, people["active"][0].email)
    assert (await client.get("/api/v1/students", headers=student_headers)).status_code == 403
    r = await client.get(f"/api/v1/enrollments/{at_risk_id}/risk", headers=student_headers)
    assert r.status_code == 403


async def test_roster_search_sort_and_pages(settings, client, tmp_path):
    await _school(tmp_path)
    headers = await api_login(client, "cur@example.com")

    async def names(**params):
        r = await client.get("/api/v1/students", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [row["name"] for row in r.json()["items"]]

    assert await names(q="anna") == ["Anna Active"]
    assert await names(q="ИРИНА") == ["Ирина Риск"]
    assert await names(q="ирина") == ["Ирина Риск"]
    assert await names(q="%") == []
    assert set(await names(q="example.com")) == {
        "Anna Active",
        "Boris Idle",
        "Ирина Риск",
        "Dmitri Gone",
        "Carla Done",
    }
    assert await names(sort="name", order="asc") == sorted(
        await names(sort="name", order="asc"), key=str.lower
    )
    assert (await names(sort="name", order="asc"))[:2] == ["Anna Active", "Boris Idle"]
    assert (await names(sort="progress", order="desc"))[0] == "Carla Done"
    assert (await names(sort="enrolled", order="desc"))[0] == "Anna Active"
    assert (await names(sort="enrolled", order="asc"))[0] == "Dmitri Gone"
    assert (await names(sort="last_activity", order="desc"))[0] == "Anna Active"
    page1 = await names(sort="name", order="asc", size=2, page=1)
    page2 = await names(sort="name", order="asc", size=2, page=2)
    page3 = await names(sort="name", order="asc", size=2, page=3)
    assert page1 + page2 + page3 == await names(sort="name", order="asc") and len(page3) == 1
    r = await client.get("/api/v1/students", params={"sort": "shoe"}, headers=headers)
    assert r.status_code == 422


async def test_student_detail_and_manual_nudges(settings, client, tmp_path, monkeypatch):
    reconfigure(monkeypatch, nudge_auto="false")
    _course, _other, _curator, _other_curator, people = await _school(tmp_path)
    headers = await api_login(client, "cur@example.com")
    _student, enrollment_id = people["at_risk"]
    r = await client.get(f"/api/v1/enrollments/{enrollment_id}/risk", headers=headers)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["row"]["status"] == "at_risk" and detail["features"]["days_since_activity"] == 16
    assert detail["nudges"] == [] and detail["next_nudge_at"] is None
    assert [e["grp"] for e in detail["episodes"]] in (["treatment"], ["holdout"])

    # Telegram is not linked: 422 and nothing recorded.
    r = await client.post(
        f"/api/v1/enrollments/{enrollment_id}/nudges", json={"channel": "telegram"}, headers=headers
    )
    assert r.status_code == 422 and "Telegram" in r.json()["detail"]
    for bad in ({"message": "   "}, {"message": "x" * 1001}, {"channel": "pigeon"}):
        r = await client.post(f"/api/v1/enrollments/{enrollment_id}/nudges", json=bad, headers=headers)
        assert r.status_code == 422, bad
    assert await nudges([enrollment_id]) == []

    r = await client.post(f"/api/v1/enrollments/{enrollment_id}/nudges", json={}, headers=headers)
    assert r.status_code == 201, r.text
    nudge = r.json()
    assert nudge["mode"] == "manual" and nudge["channel"] == "email" and nudge["sent_by_name"]
    assert "Risk Basics" in nudge["message"] and "Lesson 1" in nudge["message"]
    assert "/lessons/" in nudge["message"]
    [episode] = await episodes([enrollment_id])
    assert nudge["episode_id"] == episode.id

    # The cap (1 per 7 days): 409 saying when the next nudge is possible.
    sent_at = datetime.fromisoformat(nudge["sent_at"])
    next_at = sent_at + days(7)
    r = await client.post(
        f"/api/v1/enrollments/{enrollment_id}/nudges", json={"message": "Come back!"}, headers=headers
    )
    assert r.status_code == 409
    assert next_at.isoformat(timespec="minutes") in r.json()["detail"]
    detail = (await client.get(f"/api/v1/enrollments/{enrollment_id}/risk", headers=headers)).json()
    assert datetime.fromisoformat(detail["next_nudge_at"]) == next_at
    assert [n["id"] for n in detail["nudges"]] == [nudge["id"]]
    assert await nudges([enrollment_id]) != [] and len(await nudges([enrollment_id])) == 1

    listed = (await client.get(f"/api/v1/enrollments/{enrollment_id}/nudges", headers=headers)).json()
    assert [n["id"] for n in listed] == [nudge["id"]]


async def test_manual_nudges_ignore_quiet_hours_and_the_cap_frees_after_its_window(settings, tmp_path):
    from academy.retention.errors import NudgeCapReached
    from academy.retention.schemas import NudgeCreate

    course = await make_course(tmp_path, lessons=2, quiz=False)
    curator = await make_curator(course.id)
    _student, enrollment_id = await student_with_history(course.id, enrolled=NOON - days(15))
    # 23:00 in the student's own day (UTC): quiet for automatic nudges, not for a curator.
    late = datetime(2026, 6, 10, 23, 0, tzinfo=UTC)

    async def send(at: datetime, message: str | None = None):
        with clock.frozen(at):
            async with UnitOfWork() as uow:
                return await retention_service.nudge(
                    uow.session, curator, enrollment_id, NudgeCreate(message=message)
                )

    first = await send(late)
    assert first.sent_at == late and first.mode == "manual"
    with pytest.raises(NudgeCapReached) as caught:
        await send(late + days(6.9), "Again")
    assert caught.value.next_at == late + days(7) and caught.value.status_code == 409
    second = await send(late + days(7), "  Come back!  ")
    assert second.message == "Come back!"


async def test_completed_students_are_not_nudged(settings, client, tmp_path):
    _course, _other, _curator, _oc, people = await _school(tmp_path)
    headers = await api_login(client, "cur@example.com")
    r = await client.post(f"/api/v1/enrollments/{people['completed'][1]}/nudges", json={}, headers=headers)
    assert r.status_code == 422


async def test_track_returns_marks_nudges_and_episodes_once(settings, tmp_path, monkeypatch):
    reconfigure(monkeypatch, nudge_holdout_share="0")
    course = await make_course(tmp_path, lessons=2, quiz=False)
    back, back_id = await student_with_history(course.id, enrolled=NOON - days(15))
    late, late_id = await student_with_history(course.id, enrolled=NOON - days(15))
    await rescore(NOON)
    assert len(await nudges()) == 2
    await add_activity(back.id, course.id, NOON + days(3))
    await add_activity(late.id, course.id, NOON + days(8))
    async with UnitOfWork() as uow:
        with clock.frozen(NOON + days(9)):
            marked = await retention_service.track_returns(uow.session)
    assert marked == 2  # the returning student's nudge and episode
    by_enrollment = {n.enrollment_id: n for n in await nudges()}
    assert by_enrollment[back_id].returned_at == NOON + days(3)
    assert by_enrollment[late_id].returned_at is None
    eps = {e.enrollment_id: e for e in await episodes()}
    assert eps[back_id].returned_at == NOON + days(3) and eps[late_id].returned_at is None
    async with UnitOfWork() as uow:
        with clock.frozen(NOON + days(9)):
            assert await retention_service.track_returns(uow.session) == 0


async def test_model_status_is_for_staff_and_training_for_admins(settings, client):
    await make_user(role=Role.curator, email="c@example.com")
    await make_user(role=Role.admin, email="a@example.com")
    curator = await api_login(client, "c@example.com")
    admin = await api_login(client, "a@example.com")
    r = await client.get("/api/v1/risk-models", headers=curator)
    assert r.status_code == 200 and r.json()["scorer"] == "rules" and r.json()["models"] == []
    assert (await client.post("/api/v1/risk-models", headers=curator)).status_code == 403
    r = await client.post("/api/v1/risk-models", headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert body["trained"] is False and "Not enough finished enrolments" in body["reason"]


async def test_a_student_who_never_began_counts_from_enrolment(settings, client, tmp_path):
    """No activity at all (an enrolment made by an import, say): idle while the enrolment is new,
    dropped once it is 21 days old, exactly like a student whose last event was the enrolment."""
    from academy.models import Enrollment

    now = clock.now()
    course = await make_course(tmp_path, lessons=2, quiz=False, title="Silent Course")
    curator = await make_curator(course.id, email="silent-cur@example.com")
    fresh = await make_user(name="Fresh Never")
    stale = await make_user(name="Stale Never")
    async with UnitOfWork() as uow:
        for user, age in ((fresh, 1), (stale, 21)):
            uow.session.add(Enrollment(user_id=user.id, course_id=course.id, created_at=now - days(age)))
    counts = await retention_service_counts(curator)
    assert counts["idle"] == 1 and counts["dropped"] == 1 and counts["all"] == 2

    headers = await api_login(client, "silent-cur@example.com")
    r = await client.get(
        "/api/v1/students", params={"sort": "last_activity", "order": "asc"}, headers=headers
    )
    rows = r.json()["items"]
    assert [(row["name"], row["status"], row["last_activity_at"]) for row in rows] == [
        ("Stale Never", "dropped", None),
        ("Fresh Never", "idle", None),
    ]
    # The detail reads the same row, without a roster query around it.
    for row in rows:
        r = await client.get(f"/api/v1/enrollments/{row['enrollment_id']}/risk", headers=headers)
        assert r.status_code == 200 and r.json()["row"]["status"] == row["status"]

    # One lesson opened by the stale student: active, and the detail and counts agree.
    await add_activity(stale.id, course.id, now - days(1))
    counts = await retention_service_counts(curator)
    assert counts["active"] == 1 and counts["idle"] == 1 and counts["dropped"] == 0
    stale_row = next(row for row in rows if row["name"] == "Stale Never")
    r = await client.get(f"/api/v1/enrollments/{stale_row['enrollment_id']}/risk", headers=headers)
    detail = r.json()["row"]
    assert detail["status"] == "active"
    assert datetime.fromisoformat(detail["last_activity_at"]) == now - days(1)


async def retention_service_counts(viewer):
    async with UnitOfWork() as uow:
        return await retention_service.counts(uow.session, viewer)
