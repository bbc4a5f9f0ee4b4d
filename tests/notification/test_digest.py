"""Daily digest: digest kinds are held back from one-by-one email and sent together once a day."""

from datetime import UTC, datetime, timedelta

from academy.kit import clock
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.notification.tasks import send_digests
from tests.fixtures.app import make_user

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def _mail_to(address: str) -> list:
    async with UnitOfWork() as uow:
        page = await notification_service.outbox(uow.session, PageParams(page=1, size=100))
    return [e for e in page.items if e.to_address == address]


async def _digests_to(address: str) -> list:
    return [e for e in await _mail_to(address) if e.subject.startswith("Your daily digest")]


async def _prefer(user: User, **channels: dict[str, bool]) -> None:
    async with UnitOfWork() as uow:
        await notification_service.update_preferences(uow.session, user, **channels)


async def _notify(user: User, kind: str, title: str, *, at: datetime, link: str | None = None) -> None:
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            await notification_service.notify(
                uow.session,
                user.id,
                NotificationPayload(kind=kind, title=title, body=f"about {title}", link=link),
            )


async def _run_digests(at: datetime) -> int:
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            return await send_digests(uow.session)


async def test_digest_collects_only_digest_kinds_since_the_previous_digest(client):
    user = await make_user()
    await _prefer(user, digest={"learning": True, "coach": True})
    await _notify(user, "learning", "Lesson 1 is waiting", at=T0, link="/learn/1")
    await _notify(user, "coach", "Curator answered", at=T0 + timedelta(minutes=5))
    await _notify(user, "homework", "Homework graded", at=T0 + timedelta(minutes=10))

    subjects = [e.subject for e in await _mail_to(user.email)]
    assert "Homework graded" in subjects, "kinds without a digest are emailed at once"
    assert "Lesson 1 is waiting" not in subjects and "Curator answered" not in subjects

    assert await _run_digests(T0 + timedelta(hours=1)) == 1
    (digest,) = await _digests_to(user.email)
    assert digest.subject == "Your daily digest: 2 new" and digest.status == "sent"
    assert "Lesson 1 is waiting" in digest.body_text and "Curator answered" in digest.body_text
    assert "http://testserver/learn/1" in digest.body_text and "about Lesson 1 is waiting" in digest.body_text
    assert "Homework graded" not in digest.body_text

    await _notify(user, "learning", "Lesson 2 is waiting", at=T0 + timedelta(hours=3))
    assert await _run_digests(T0 + timedelta(days=1)) == 1
    newest = (await _digests_to(user.email))[0]
    assert newest.subject == "Your daily digest: 1 new"
    assert "Lesson 2 is waiting" in newest.body_text and "Lesson 1" not in newest.body_text


async def test_digest_is_idempotent_and_skips_users_with_nothing_new(client):
    quiet, busy = await make_user(), await make_user()
    for user in (quiet, busy):
        await _prefer(user, digest={"system": True})
    await _notify(busy, "system", "Class moved", at=T0)
    assert await _run_digests(T0 + timedelta(hours=1)) == 1
    assert await _run_digests(T0 + timedelta(hours=1)) == 0, "a second run finds nothing new"
    assert await _run_digests(T0 + timedelta(hours=2)) == 0
    assert len(await _digests_to(busy.email)) == 1
    assert await _digests_to(quiet.email) == []


async def test_notification_at_the_digest_instant_is_counted_once(client):
    user = await make_user()
    await _prefer(user, digest={"system": True})
    at = T0 + timedelta(hours=1)
    await _notify(user, "system", "Exactly then", at=at)
    assert await _run_digests(at) == 1
    await _notify(user, "system", "Right after", at=at + timedelta(microseconds=1))
    assert await _run_digests(at + timedelta(days=1)) == 1
    first, second = reversed(await _digests_to(user.email))
    assert "Exactly then" in first.body_text and "Right after" not in first.body_text
    assert "Right after" in second.body_text and "Exactly then" not in second.body_text


async def test_first_digest_covers_one_day(client):
    user = await make_user()
    await _notify(user, "learning", "Before digest was chosen", at=T0 - timedelta(days=3))
    await _prefer(user, digest={"learning": True})
    await _notify(user, "learning", "Yesterday", at=T0 - timedelta(hours=20))
    assert await _run_digests(T0) == 1
    (digest,) = await _digests_to(user.email)
    assert "Yesterday" in digest.body_text and "Before digest was chosen" not in digest.body_text


async def test_no_digest_without_email_or_verified_address(client):
    muted, unverified = await make_user(), await make_user(verified=False)
    await _prefer(muted, email={"learning": False}, digest={"learning": True})
    await _prefer(unverified, digest={"learning": True})
    for user in (muted, unverified):
        await _notify(user, "learning", "Lesson", at=T0)
    assert await _run_digests(T0 + timedelta(hours=1)) == 0
    assert await _digests_to(muted.email) == [] and await _digests_to(unverified.email) == []


async def test_digest_holds_back_email_only(client):
    user = await make_user()
    async with UnitOfWork() as uow:
        row = await uow.session.get(User, user.id)
        assert row is not None
        row.telegram_id = 9001
    await _prefer(user, digest={"learning": True, "account": True})
    await _notify(user, "learning", "Lesson waiting", at=T0)
    await _notify(user, "account", "New sign-in", at=T0)
    async with UnitOfWork() as uow:
        feed = await notification_service.recent(uow.session, user)
        telegram = await notification_service.telegram_messages(uow.session, PageParams(page=1, size=10))
    assert {n.title for n in feed} == {"Lesson waiting", "New sign-in"}
    assert len(telegram.items) == 2, "Telegram messages are not held for the digest"
    assert "New sign-in" in [e.subject for e in await _mail_to(user.email)], "account mail never waits"
    async with UnitOfWork() as uow:
        prefs = {p.kind: p for p in await notification_service.preferences(uow.session, user)}
    assert prefs["account"].digest is False and prefs["learning"].digest is True


async def test_a_long_digest_lists_fifty_and_counts_the_rest(client):
    user = await make_user()
    await _prefer(user, digest={"system": True})
    async with UnitOfWork() as uow:
        with clock.frozen(T0):
            for n in range(53):
                await notification_service.notify(
                    uow.session, user.id, NotificationPayload(kind="system", title=f"Note {n:02d}")
                )
    assert await _run_digests(T0 + timedelta(hours=1)) == 1
    (digest,) = await _digests_to(user.email)
    assert digest.subject == "Your daily digest: 53 new"
    assert "Note 49" in digest.body_text and "Note 50" not in digest.body_text
    assert "And 3 more in your notifications:" in digest.body_text
    assert "http://testserver/notifications" in digest.body_text
