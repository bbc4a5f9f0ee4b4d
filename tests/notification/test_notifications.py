import asyncio

from academy.kit import realtime
from academy.kit.uow import UnitOfWork
from academy.models import Role
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from tests.fixtures.app import api_login, make_user, page_login


async def _emails_to(address):
    from academy.kit.pagination import PageParams

    async with UnitOfWork() as uow:
        page = await notification_service.outbox(uow.session, PageParams(page=1, size=100))
    return [e for e in page.items if e.to_address == address]


async def test_notify_stores_pushes_live_and_emails_by_preference(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    async with realtime.hub().subscribe(realtime.user_channel(user.id)) as queue:
        async with UnitOfWork() as uow:
            await notification_service.notify(
                uow.session,
                user.id,
                NotificationPayload(kind="homework", title="Graded", body="9/10", link="/x"),
            )
            assert queue.empty(), "nothing is pushed before the commit"
        message = await asyncio.wait_for(queue.get(), timeout=5)
    assert message["title"] == "Graded" and message["unread"] == 1
    (mail,) = [e for e in await _emails_to(user.email) if e.subject == "Graded"]
    assert "http://testserver/x" in mail.body_text and mail.status == "sent"

    prefs = await client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"email": {"homework": False}}
    )
    assert {p["kind"]: p["email"] for p in prefs.json()}["homework"] is False
    async with UnitOfWork() as uow:
        await notification_service.notify(
            uow.session, user.id, NotificationPayload(kind="homework", title="Again")
        )
    assert not [e for e in await _emails_to(user.email) if e.subject == "Again"]
    bad = await client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"email": {"bogus": True}}
    )
    assert bad.status_code == 422

    listing = (await client.get("/api/v1/notifications", headers=headers)).json()
    assert listing["total"] == 2 and [n["title"] for n in listing["items"]] == ["Again", "Graded"]
    assert (await client.get("/api/v1/notifications/unread-count", headers=headers)).json() == {"unread": 2}
    await client.post("/api/v1/notifications/read-all", headers=headers)
    assert (await client.get("/api/v1/notifications?unread=true", headers=headers)).json()["total"] == 0


async def test_rolled_back_notification_is_neither_stored_nor_pushed(client):
    user = await make_user()
    async with realtime.hub().subscribe(realtime.user_channel(user.id)) as queue:
        try:
            async with UnitOfWork() as uow:
                await notification_service.notify(uow.session, user.id, NotificationPayload(title="Ghost"))
                raise RuntimeError("the request failed")
        except RuntimeError:
            pass
        await asyncio.sleep(0.2)
        assert queue.empty()
    assert not [e for e in await _emails_to(user.email) if e.subject == "Ghost"]


async def test_unverified_email_gets_no_notification_mail(client):
    user = await make_user(verified=False)
    async with UnitOfWork() as uow:
        await notification_service.notify(uow.session, user.id, NotificationPayload(title="Hi"))
    assert [e.subject for e in await _emails_to(user.email)] == ["Confirm your email"]


async def test_admin_sends_a_notification_and_the_centre_shows_it(client, new_client):
    admin, student = await make_user(role=Role.admin), await make_user()
    r = await client.post(
        "/api/v1/notifications",
        headers=await api_login(client, admin.email),
        json={"user_id": student.id, "kind": "system", "title": "Class at 6", "body": "See you"},
    )
    assert r.status_code == 201
    missing = await client.post(
        "/api/v1/notifications",
        headers=await api_login(client, admin.email),
        json={"user_id": 999999, "title": "x"},
    )
    assert missing.status_code == 404
    browser = new_client()
    await page_login(browser, student.email)
    page = await browser.get("/notifications")
    assert "Class at 6" in page.text and 'data-testid="unread">1<' in page.text
    token = browser.cookies["academy_csrf"]
    read = await browser.post(
        f"/notifications/{r.json()['id']}/read", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert read.status_code == 200 and "bg-primary-lt" not in read.text
    assert 'data-testid="unread">1<' not in (await browser.get("/notifications")).text


async def test_ids_beyond_64_bits_are_rejected_not_crashed(client):
    admin = await make_user(role=Role.admin)
    headers = await api_login(client, admin.email)
    huge = 2**70
    r = await client.post("/api/v1/notifications", headers=headers, json={"user_id": huge, "title": "x"})
    assert r.status_code == 422
    assert (await client.post(f"/api/v1/notifications/{huge}/read", headers=headers)).status_code == 422
    assert (await client.get(f"/api/v1/users/{huge}", headers=headers)).status_code == 422
    await page_login(client, admin.email)
    page = await client.post(
        f"/notifications/{huge}/read", data={"csrf_token": client.cookies["academy_csrf"]}
    )
    assert page.status_code == 422


async def test_account_mail_cannot_be_turned_off(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    prefs = await client.put(
        "/api/v1/notifications/preferences", headers=headers, json={"email": {"account": False}}
    )
    assert {p["kind"]: p["email"] for p in prefs.json()}["account"] is True
