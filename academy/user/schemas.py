from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from academy.kit.clock import check_timezone
from academy.models import Role


class ProfileUpdate(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    timezone: str | None = None
    locale: Annotated[str, Field(pattern="^(en|ru)$")] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return check_timezone(value)


class RoleUpdate(BaseModel):
    role: Role
