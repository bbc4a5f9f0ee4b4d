from __future__ import annotations

from datetime import datetime

from academy.kit.errors import Conflict


class NudgeCapReached(Conflict):
    """The student had as many nudges as the cap allows in its window; `next_at` is when one frees."""

    def __init__(self, cap: int, days: int, next_at: datetime) -> None:
        self.next_at = next_at
        super().__init__(
            f"This student already had {cap} nudge(s) in the last {days} days; "
            f"the next nudge is possible at {next_at.isoformat(timespec='minutes')}"
        )
