"""XP, levels, daily streaks in the student's own time zone, achievements and the weekly board."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.activity.service import ActivityKind, activity_service
from academy.gamification import rules
from academy.gamification.repository import GamificationRepository
from academy.gamification.schemas import (
    AchievementRead,
    Award,
    Leaderboard,
    LeaderboardRow,
    ProgressRead,
)
from academy.kit import clock
from academy.models import GamificationProfile, User

log = structlog.get_logger()


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def week_start(at: datetime) -> datetime:
    """Monday 00:00 UTC of the week containing `at`: one board for everyone, whatever their zone."""
    day = at.astimezone(ZoneInfo("UTC")).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo("UTC"))


class GamificationService:
    async def _state(self, profile: GamificationProfile) -> rules.StreakState:
        return rules.StreakState(
            profile.current_streak, profile.longest_streak, profile.last_active_day, profile.freeze_week
        )

    async def _learning_day(
        self, session: AsyncSession, user: User, profile: GamificationProfile, at: datetime
    ) -> int:
        """Count the local day of `at` toward the streak; returns the days away before it."""
        today = at.astimezone(_zone(user)).date()
        days_away = (today - profile.last_active_day).days if profile.last_active_day else 0
        update = rules.advance_streak(await self._state(profile), today)
        profile.current_streak = update.state.current
        profile.longest_streak = update.state.longest
        profile.last_active_day = update.state.last_day
        profile.freeze_week = update.state.freeze_week
        if update.froze is not None:
            await activity_service.record(
                session, user.id, ActivityKind.streak_frozen, at=at, covered_day=update.froze.isoformat()
            )
        return days_away

    async def _award(
        self, session: AsyncSession, user: User, at: datetime, grants: list[tuple[int, str]]
    ) -> tuple[GamificationProfile, int, int]:
        repo = GamificationRepository(session)
        profile = await repo.profile(user.id)
        before = rules.level_for(profile.xp)
        gained = 0
        for amount, source in grants:
            if await repo.award(user.id, amount, source, at):
                gained += amount
        profile.xp += gained
        return profile, gained, before

    async def _finish(
        self,
        session: AsyncSession,
        user: User,
        profile: GamificationProfile,
        gained: int,
        level_before: int,
        at: datetime,
        **extra: object,
    ) -> Award:
        repo = GamificationRepository(session)
        level = rules.level_for(profile.xp)
        stats = rules.Stats(
            lessons=await repo.count_sources(user.id, "lesson:"),
            quizzes_passed=await repo.count_sources(user.id, "quiz:"),
            perfect_quizzes=await repo.count_sources(user.id, "quiz-perfect:"),
            courses=await repo.count_sources(user.id, "course:"),
            streak=profile.current_streak,
            level=level,
            **extra,  # type: ignore[arg-type]
        )
        owned = {a.code for a in await repo.achievements(user.id)}
        unlocked = []
        for achievement in rules.ACHIEVEMENTS:
            if achievement.code not in owned and achievement.earned(stats):
                await repo.unlock(user.id, achievement.code, at)
                await activity_service.record(
                    session, user.id, ActivityKind.achievement_unlocked, at=at, code=achievement.code
                )
                unlocked.append(_read(achievement, at))
        if unlocked:
            log.info("gamification.achievements_unlocked", user_id=user.id, codes=[a.code for a in unlocked])
        return Award(xp=gained, level_up=level if level > level_before else None, achievements=unlocked)

    async def lesson_completed(
        self, session: AsyncSession, user: User, lesson_id: int, at: datetime | None = None
    ) -> Award:
        at = at or clock.now()
        profile, gained, before = await self._award(
            session, user, at, [(rules.XP_LESSON, f"lesson:{lesson_id}")]
        )
        days_away = await self._learning_day(session, user, profile, at)
        local_hour = at.astimezone(_zone(user)).hour
        return await self._finish(
            session, user, profile, gained, before, at, local_hour=local_hour, days_away=days_away
        )

    async def quiz_attempted(
        self,
        session: AsyncSession,
        user: User,
        quiz_id: int,
        *,
        score: int,
        passed: bool,
        failed_before: bool,
        at: datetime | None = None,
    ) -> Award:
        at = at or clock.now()
        grants = []
        if passed:
            grants.append((rules.XP_QUIZ_PASSED, f"quiz:{quiz_id}"))
            if score == 100:
                grants.append((rules.XP_QUIZ_PERFECT, f"quiz-perfect:{quiz_id}"))
        profile, gained, before = await self._award(session, user, at, grants)
        days_away = await self._learning_day(session, user, profile, at) if passed else 0
        return await self._finish(
            session,
            user,
            profile,
            gained,
            before,
            at,
            days_away=days_away,
            retried_and_passed=passed and failed_before,
        )

    async def course_completed(
        self, session: AsyncSession, user: User, course_id: int, at: datetime | None = None
    ) -> Award:
        at = at or clock.now()
        profile, gained, before = await self._award(
            session, user, at, [(rules.XP_COURSE, f"course:{course_id}")]
        )
        return await self._finish(session, user, profile, gained, before, at)

    async def progress(self, session: AsyncSession, user: User) -> ProgressRead:
        repo = GamificationRepository(session)
        profile = await repo.profile(user.id)
        today = clock.now().astimezone(_zone(user)).date()
        state = await self._state(profile)
        level = rules.level_for(profile.xp)
        start, end = rules.level_start(level), rules.level_start(level + 1)
        owned = {a.code: a.unlocked_at for a in await repo.achievements(user.id)}
        return ProgressRead(
            xp=profile.xp,
            level=level,
            level_start_xp=start,
            next_level_xp=end,
            level_progress_pct=int(100 * (profile.xp - start) / (end - start)),
            current_streak=rules.visible_streak(state, today),
            longest_streak=profile.longest_streak,
            freeze_available=profile.freeze_week != rules.iso_week(today),
            leaderboard_hidden=profile.leaderboard_hidden,
            achievements=[_read(a, owned.get(a.code)) for a in rules.ACHIEVEMENTS],
        )

    async def leaderboard(self, session: AsyncSession, user: User, limit: int = 20) -> Leaderboard:
        repo = GamificationRepository(session)
        since = week_start(clock.now())
        profile = await repo.profile(user.id)
        rows = []
        rank = 0
        previous: int | None = None
        for position, (user_id, name, email, xp) in enumerate(await repo.weekly(since, limit), start=1):
            if xp != previous:
                rank, previous = position, xp
            display = name or (email or "").split("@")[0] or f"user{user_id}"
            rows.append(
                LeaderboardRow(rank=rank, user_id=user_id, name=display, xp=xp, is_me=user_id == user.id)
            )
        me = None
        if not profile.leaderboard_hidden:
            xp = await repo.weekly_xp(user.id, since)
            me = LeaderboardRow(
                rank=await repo.weekly_rank(xp, since),
                user_id=user.id,
                name=user.display_name,
                xp=xp,
                is_me=True,
            )
        return Leaderboard(week_starts=since, rows=rows, me=me, hidden=profile.leaderboard_hidden)

    async def set_leaderboard_hidden(self, session: AsyncSession, user: User, hidden: bool) -> None:
        profile = await GamificationRepository(session).profile(user.id)
        profile.leaderboard_hidden = hidden


def _read(achievement: rules.Achievement, unlocked_at: datetime | None) -> AchievementRead:
    return AchievementRead(
        code=achievement.code,
        icon=achievement.icon,
        title=achievement.title,
        description=achievement.description,
        unlocked_at=unlocked_at,
    )


gamification_service = GamificationService()
