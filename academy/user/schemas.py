from __future__ import annotations

from typing import Annotated
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, StringConstraints, field_validator

from academy.models import Role

TIMEZONES = frozenset(available_timezones())


class ProfileUpdate(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    timezone: str | None = None
    locale: Annotated[str, Field(pattern="^(en|ru)$")] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in TIMEZONES:
            raise ValueError(f"Unknown time zone: {value}")
        return value


class RoleUpdate(BaseModel):
    role: Role
