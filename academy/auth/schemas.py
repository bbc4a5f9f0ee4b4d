from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from academy.kit.clock import check_timezone

Password = Annotated[str, Field(min_length=8, max_length=128)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]


class RegisterIn(BaseModel):
    email: EmailStr
    password: Password
    name: Name = ""
    locale: str = Field(default="en", pattern="^(en|ru)$")
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value) or "UTC"


class LoginIn(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=128)]
    totp_code: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None


class RefreshIn(BaseModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=2048)]


class TokenToIn(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=200)]


class PasswordResetIn(BaseModel):
    email: EmailStr


class PasswordResetConfirmIn(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Password


class TelegramMiniAppIn(BaseModel):
    init_data: Annotated[str, Field(min_length=1, max_length=4096)]


class TelegramWidgetIn(BaseModel):
    id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    first_name: Annotated[str, Field(max_length=256)] = ""
    last_name: Annotated[str, Field(max_length=256)] | None = None
    username: Annotated[str, Field(max_length=64)] | None = None
    photo_url: Annotated[str, Field(max_length=1024)] | None = None
    auth_date: Annotated[int, Field(ge=0, le=2**40)]
    hash: Annotated[str, Field(min_length=64, max_length=64)]


class TotpCodeIn(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class TotpSetup(BaseModel):
    secret: str
    otpauth_uri: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    name: str
    role: str
    timezone: str
    locale: str
    avatar_url: str | None = None
    email_verified: bool
    telegram_linked: bool
    totp_enabled: bool
    created_at: datetime


class Message(BaseModel):
    detail: str
