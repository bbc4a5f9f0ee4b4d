"""XP, levels, streaks in the student's own time zone, achievements and the weekly leaderboard."""

from datetime import UTC, date, datetime, timedelta

import pytest

from academy.gamification import rules
from academy.gamification.rules import StreakState, advance_streak, level_for, level_start, visible_streak
from academy.kit import clock
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import make_course, right_answers, set_timezone, wrong_answers

MONDAY = date(2026, 4, 6)  # ISO week 2026-W15 runs Monday 6 to Sunday 12 April
EMPTY = StreakState(current=0, longest=0, last_day=None, freeze_week=None)


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


def _walk(days: list[int]) -> list[tuple[int, date | None]]:
    state, seen = EMPTY, []
    for n in days:
        update = advance_streak(state, day(n))
        state = update.state
        seen.append((state.current, update.froze))
    return seen


# --- pure rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xp", "level"),
    [(0, 1), (99, 1), (100, 2), (299, 2), (300, 3), (599, 3), (600, 4), (999, 4), (1000, 5), (-5, 1)],
)
def test_level_thresholds(xp, level):
    assert level_for(xp) == level


def test_each_level_starts_exactly_at_its_threshold():
    for n in range(2, 60):
        assert level_for(level_start(n)) == n
        assert level_for(level_start(n) - 1) == n - 1
    assert [level_start(n) for n in range(1, 6)] == [0, 100, 300, 600, 1000]


def test_streak_counts_consecutive_days_once_each():
    assert _walk([0, 1, 2]) == [(1, None), (2, None), (3, None)]
    state = advance_streak(advance_streak(EMPTY, day(0)).state, day(0)).state
    assert state.current == 1, "the same day twice is one day"
    assert advance_streak(state, day(-1)).state == state, "an older day changes nothing"


def test_one_missed_day_uses_the_weeks_freeze_once():
    # Mon, Tue, (Wed missed), Thu: the freeze covers Wednesday
    assert _walk([0, 1, 3]) == [(1, None), (2, None), (3, day(2))]
    state = EMPTY
    for n in (0, 1, 3):
        state = advance_streak(state, day(n)).state
    assert state.freeze_week == "2026-W15" and state.longest == 3


def test_a_second_gap_in_the_same_week_resets_the_streak():
    # Mon, Tue, (Wed), Thu uses the freeze; (Fri), Sat finds it spent
    assert [c for c, _ in _walk([0, 1, 3, 5])] == [1, 2, 3, 1]
    state = EMPTY
    for n in (0, 1, 3, 5):
        state = advance_streak(state, day(n)).state
    assert (state.current, state.longest) == (1, 3)


def test_the_freeze_belongs_to_the_week_of_the_missed_day():
    # W15's freeze is spent on Wednesday; the missed Monday 13 April is in W16, which has its own
    assert [c for c, _ in _walk([0, 1, 3, 4, 5, 6, 8])] == [1, 2, 3, 4, 5, 6, 7]
    assert _walk([0, 1, 3, 4, 5, 6, 8])[-1][1] == day(7)


def test_a_longer_gap_resets_the_streak():
    assert [c for c, _ in _walk([0, 1, 4])] == [1, 2, 1]
    assert [c for c, _ in _walk([0, 10])] == [1, 1]


def test_visible_streak_as_the_student_sees_it_today():
    state = StreakState(current=4, longest=4, last_day=day(1), freeze_week=None)
    assert visible_streak(state, day(1)) == 4
    assert visible_streak(state, day(2)) == 4, "still alive the next day"
    assert visible_streak(state, day(3)) == 4, "yesterday can still be covered by the freeze"
    assert visible_streak(state, day(4)) == 0
    spent = StreakState(current=4, longest=4, last_day=day(1), freeze_week="2026-W15")
    assert visible_streak(spent, day(3)) == 0
    assert visible_streak(EMPTY, day(0)) == 0


def test_the_catalog_has_sixteen_distinct_achievements():
    assert len(rules.ACHIEVEMENTS) == 16
    assert len({a.code for a in rules.ACHIEVEMENTS}) == 16


# --- through the services and the API ---------------------------------------------------------


async def _student(client, course, *, timezone="UTC", name=""):
    user = await make_user(name=name)
    await set_timezone(user, timezone)
    headers = await api_login(client, user.email)
    r = await client.post("/api/v1/enrollments", headers=headers, json={"course_id": course.id})
    assert r.status_code == 201
    return user, headers


async def _complete(client, headers, lesson_id, at):
    with clock.frozen(at):
        r = await client.post(f"/api/v1/lessons/{lesson_id}/complete", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _attempt(client, headers, quiz, answers, at):
    with clock.frozen(at):
        r = await client.post(
            f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers, json={"answers": answers}
        )
    assert r.status_code == 201, r.text
    return r.json()


async def _me(client, headers, at):
    with clock.frozen(at):
        r = await client.get("/api/v1/me/gamification", headers=headers)
    assert r.status_code == 200
    return r.json()


async def test_streaks_follow_each_students_own_midnight(client, tmp_path):
    course = await make_course(tmp_path, lessons=4, quiz=False)
    _, tokyo_headers = await _student(client, course, timezone="Asia/Tokyo")
    _, la_headers = await _student(client, course, timezone="America/Los_Angeles")
    # Tokyo (UTC+9): 6 Apr 23:00, 7 Apr 11:00, 8 Apr 01:00 -> three days.
    # Los Angeles (UTC-7): 6 Apr 07:00, 6 Apr 19:00, 7 Apr 09:00 -> two days.
    instants = [
        datetime(2026, 4, 6, 14, 0, tzinfo=UTC),
        datetime(2026, 4, 7, 2, 0, tzinfo=UTC),
        datetime(2026, 4, 7, 16, 0, tzinfo=UTC),
    ]
    for lesson_id, at in zip(course.lessons[:3], instants, strict=True):
        await _complete(client, tokyo_headers, lesson_id, at)
        await _complete(client, la_headers, lesson_id, at)
    tokyo_me = await _me(client, tokyo_headers, instants[-1])
    la_me = await _me(client, la_headers, instants[-1])
    assert (tokyo_me["current_streak"], la_me["current_streak"]) == (3, 2)
    assert tokyo_me["xp"] == la_me["xp"] == 30

    def unlocked(me):
        return {a["code"] for a in me["achievements"] if a["unlocked_at"]}

    assert {"streak-3", "night-owl"} <= unlocked(tokyo_me), "01:00 in Tokyo is night"
    assert "streak-3" not in unlocked(la_me) and "night-owl" not in unlocked(la_me)
    # One Tokyo day later (9 Apr) the streak stands; two days later it is kept by the freeze;
    # three days later it is gone.
    assert (await _me(client, tokyo_headers, instants[-1] + timedelta(days=1)))["current_streak"] == 3
    assert (await _me(client, tokyo_headers, instants[-1] + timedelta(days=2)))["current_streak"] == 3
    assert (await _me(client, tokyo_headers, instants[-1] + timedelta(days=3)))["current_streak"] == 0
    assert (await _me(client, tokyo_headers, instants[-1] + timedelta(days=3)))["longest_streak"] == 3


async def test_xp_for_lessons_is_paid_once_per_lesson(client, tmp_path):
    course = await make_course(tmp_path, lessons=3, quiz=False)
    _, headers = await _student(client, course)
    at = datetime(2026, 4, 6, 12, 0, tzinfo=UTC)
    first = await _complete(client, headers, course.lessons[0], at)
    assert first["xp_gained"] == rules.XP_LESSON
    assert first["achievements"] == ["First steps"]
    twice = await _complete(client, headers, course.lessons[0], at + timedelta(minutes=5))
    assert twice["xp_gained"] == 0 and twice["achievements"] == []
    await _complete(client, headers, course.lessons[1], at + timedelta(minutes=10))
    me = await _me(client, headers, at + timedelta(minutes=11))
    assert me["xp"] == 2 * rules.XP_LESSON and me["level"] == 1
    assert (me["level_start_xp"], me["next_level_xp"], me["level_progress_pct"]) == (0, 100, 20)


async def test_quiz_xp_with_the_perfect_bonus_and_quiz_achievements(client, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=[0])
    quiz = course.quiz(0)
    _, headers = await _student(client, course)
    at = datetime(2026, 4, 6, 12, 0, tzinfo=UTC)

    failed = await _attempt(client, headers, quiz, wrong_answers(quiz), at)
    assert (failed["xp_gained"], failed["achievements"]) == (0, [])
    four_of_five = await _attempt(
        client, headers, quiz, wrong_answers(quiz, wrong=1), at + timedelta(minutes=1)
    )
    assert four_of_five["passed"] and four_of_five["xp_gained"] == rules.XP_QUIZ_PASSED
    assert set(four_of_five["achievements"]) == {"Quiz starter", "Persistent"}
    perfect = await _attempt(client, headers, quiz, right_answers(quiz), at + timedelta(minutes=2))
    assert perfect["xp_gained"] == rules.XP_QUIZ_PERFECT, "only the bonus is new"
    assert perfect["achievements"] == ["Perfectionist"]
    again = await _attempt(client, headers, quiz, right_answers(quiz), at + timedelta(minutes=3))
    assert (again["xp_gained"], again["achievements"]) == (0, [])

    me = await _me(client, headers, at + timedelta(minutes=4))
    assert me["xp"] == rules.XP_QUIZ_PASSED + rules.XP_QUIZ_PERFECT
    unlocked = {a["code"]: a["unlocked_at"] for a in me["achievements"] if a["unlocked_at"]}
    assert set(unlocked) == {"quiz-starter", "persistent", "perfectionist"}
    assert datetime.fromisoformat(unlocked["perfectionist"]) == at + timedelta(minutes=2)


async def test_a_perfect_first_attempt_pays_pass_and_bonus_together(client, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=[0])
    _, headers = await _student(client, course)
    result = await _attempt(
        client, headers, course.quiz(0), right_answers(course.quiz(0)), datetime(2026, 4, 6, tzinfo=UTC)
    )
    assert result["xp_gained"] == rules.XP_QUIZ_PASSED + rules.XP_QUIZ_PERFECT
    assert set(result["achievements"]) == {"Quiz starter", "Perfectionist"}, "not persistent: never failed"


async def test_three_days_in_a_row_unlock_the_streak_achievement_on_the_third(client, tmp_path):
    course = await make_course(tmp_path, lessons=3, quiz=False)
    _, headers = await _student(client, course)
    at = datetime(2026, 4, 6, 12, 0, tzinfo=UTC)
    results = [
        await _complete(client, headers, lesson, at + timedelta(days=n))
        for n, lesson in enumerate(course.lessons)
    ]
    assert results[-1]["course_completed"] is True
    assert results[-1]["xp_gained"] == rules.XP_LESSON + rules.XP_COURSE
    assert ["On fire" in r["achievements"] for r in results] == [False, False, True]
    assert all("Night owl" not in r["achievements"] for r in results), "noon is not night"
    assert "Graduate" in results[-1]["achievements"]


async def test_leaderboard_orders_by_this_weeks_xp_and_respects_leaving_it(client, tmp_path):
    course = await make_course(tmp_path, lessons=4, quiz=False)
    at = datetime(2026, 4, 7, 12, 0, tzinfo=UTC)
    _, ann_headers = await _student(client, course, name="Ann")
    bob, bob_headers = await _student(client, course, name="Bob")
    _, cid_headers = await _student(client, course, name="Cid")
    for headers, count in ((ann_headers, 3), (bob_headers, 1), (cid_headers, 2)):
        for lesson_id in course.lessons[:count]:
            await _complete(client, headers, lesson_id, at)

    async def board(headers, when=at):
        with clock.frozen(when):
            r = await client.get("/api/v1/leaderboard", headers=headers)
        assert r.status_code == 200
        return r.json()

    seen = await board(ann_headers)
    assert [(r["rank"], r["name"], r["xp"]) for r in seen["rows"]] == [
        (1, "Ann", 30),
        (2, "Cid", 20),
        (3, "Bob", 10),
    ]
    assert [r["is_me"] for r in seen["rows"]] == [True, False, False]
    assert datetime.fromisoformat(seen["week_starts"]) == datetime(2026, 4, 6, tzinfo=UTC)
    bob_view = await board(bob_headers)
    assert bob_view["me"] == {"rank": 3, "user_id": bob.id, "name": "Bob", "xp": 10, "is_me": True}

    with clock.frozen(at):
        left = await client.put("/api/v1/leaderboard/visibility", headers=cid_headers, json={"hidden": True})
    assert left.status_code == 200 and left.json()["hidden"] is True and left.json()["me"] is None
    assert [r["name"] for r in (await board(ann_headers))["rows"]] == ["Ann", "Bob"]
    assert (await board(bob_headers))["me"]["rank"] == 2, "a hidden student does not push others down"
    assert (await _me(client, cid_headers, at))["leaderboard_hidden"] is True

    with clock.frozen(at):
        back = await client.put("/api/v1/leaderboard/visibility", headers=cid_headers, json={"hidden": False})
    assert back.json()["me"]["rank"] == 2
    assert [r["name"] for r in (await board(ann_headers))["rows"]] == ["Ann", "Cid", "Bob"]

    next_week = await board(ann_headers, at + timedelta(days=7))
    assert next_week["rows"] == [] and next_week["me"]["xp"] == 0, "the board starts afresh each week"


async def test_leaderboard_ties_share_a_rank(client, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=False)
    at = datetime(2026, 4, 7, 12, 0, tzinfo=UTC)
    _, first = await _student(client, course, name="First")
    _, second = await _student(client, course, name="Second")
    await _complete(client, first, course.lessons[0], at)
    await _complete(client, second, course.lessons[0], at)
    with clock.frozen(at):
        rows = (await client.get("/api/v1/leaderboard", headers=first)).json()["rows"]
    assert [(r["rank"], r["xp"]) for r in rows] == [(1, 10), (1, 10)]
