from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AchievementRead(BaseModel):
    code: str
    icon: str
    title: str
    description: str
    unlocked_at: datetime | None = None


class ProgressRead(BaseModel):
    xp: int
    level: int
    level_start_xp: int
    next_level_xp: int
    level_progress_pct: int
    current_streak: int
    longest_streak: int
    freeze_available: bool
    leaderboard_hidden: bool
    achievements: list[AchievementRead]


class Award(BaseModel):
    xp: int = 0
    level_up: int | None = None
    achievements: list[AchievementRead] = []


class LeaderboardRow(BaseModel):
    rank: int
    user_id: int
    name: str
    xp: int
    is_me: bool = False


class Leaderboard(BaseModel):
    week_starts: datetime
    rows: list[LeaderboardRow]
    me: LeaderboardRow | None = None
    hidden: bool = False


class LeaderboardVisibility(BaseModel):
    hidden: bool
