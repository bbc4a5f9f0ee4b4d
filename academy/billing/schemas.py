from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from academy.kit.schemas import Id


class GrantCreate(BaseModel):
    user_id: Id
    tier: Literal["free", "pro", "premium"]
    expires_at: datetime | None = None


class GrantRead(BaseModel):
    id: int
    user_id: int
    tier: str
    source: str
    expires_at: datetime | None
    created_at: datetime
