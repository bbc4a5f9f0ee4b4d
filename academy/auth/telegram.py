"""Validation of Telegram sign-in data (Login Widget and Mini App initData).

Pure and dependency-free: the caller supplies the bot token and, for tests, the clock.
Both flows follow https://core.telegram.org/widgets/login#checking-authorization and
https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode

__all__ = [
    "DEFAULT_MAX_AGE_SECONDS",
    "MAX_CLOCK_SKEW_SECONDS",
    "InvalidTelegramAuth",
    "TelegramIdentity",
    "sign_init_data",
    "sign_login_widget",
    "verify_init_data",
    "verify_login_widget",
]

DEFAULT_MAX_AGE_SECONDS = 86400
MAX_CLOCK_SKEW_SECONDS = 60
# initData carries a handful of fields; a cap keeps a hostile query string from costing much.
_MAX_INIT_DATA_FIELDS = 64


class InvalidTelegramAuth(ValueError):
    """The sign-in data is not authentic, not fresh, or not well-formed."""


@dataclass(frozen=True, slots=True)
class TelegramIdentity:
    telegram_id: int
    first_name: str
    last_name: str | None
    username: str | None
    photo_url: str | None
    language_code: str | None
    auth_date: datetime


# --- key derivation -------------------------------------------------------------------------
# The two flows deliberately use different secret keys, so data signed for one flow can never
# be replayed into the other: the Login Widget uses SHA256(token), Mini Apps use
# HMAC_SHA256(key="WebAppData", msg=token).


def _widget_secret(bot_token: str) -> bytes:
    return hashlib.sha256(bot_token.encode()).digest()


def _web_app_secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def _compute_hash(secret: bytes, fields: Mapping[str, str]) -> str:
    return hmac.new(secret, _data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def _require_token(bot_token: str) -> None:
    if not isinstance(bot_token, str) or not bot_token:
        raise InvalidTelegramAuth("empty bot token")


def _check_field_shape(key: str, value: str) -> None:
    # The check string joins "key=value" lines with "\n"; Telegram never sends these characters
    # there, and rejecting them means no field can smuggle extra lines into the signed string.
    if not key or "=" in key or "\n" in key:
        raise InvalidTelegramAuth("invalid field name")
    if "\n" in value:
        raise InvalidTelegramAuth(f"invalid {key}")


def _verify_hash(secret: bytes, fields: Mapping[str, str]) -> None:
    received = fields.get("hash")
    if not received:
        raise InvalidTelegramAuth("missing hash")
    expected = _compute_hash(secret, fields)
    # Compare bytes: compare_digest refuses non-ASCII str, and the received hash is untrusted.
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise InvalidTelegramAuth("hash mismatch")


def _parse_uint(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise InvalidTelegramAuth(f"invalid {name}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise InvalidTelegramAuth(f"invalid {name}")
    if number <= 0:
        raise InvalidTelegramAuth(f"invalid {name}")
    return number


def _resolve_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def _check_auth_date(raw: str | None, *, max_age_seconds: int, now: datetime | None) -> datetime:
    if max_age_seconds < 0:
        raise ValueError("max_age_seconds must be non-negative")
    if raw is None:
        raise InvalidTelegramAuth("missing auth_date")
    auth_ts = _parse_uint(raw, "auth_date")
    now_ts = _resolve_now(now).timestamp()
    if auth_ts > now_ts + MAX_CLOCK_SKEW_SECONDS:
        raise InvalidTelegramAuth("auth_date is in the future")
    if now_ts - auth_ts > max_age_seconds:
        raise InvalidTelegramAuth("auth_date is too old")
    return datetime.fromtimestamp(auth_ts, UTC)


def _optional_str(source: Mapping[str, object], key: str) -> str | None:
    value = source.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTelegramAuth(f"invalid {key}")
    return value


def _required_str(source: Mapping[str, object], key: str) -> str:
    value = _optional_str(source, key)
    if value is None:
        raise InvalidTelegramAuth(f"missing {key}")
    return value


# --- Login Widget ---------------------------------------------------------------------------


def _stringify_widget_fields(data: Mapping[str, object]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise InvalidTelegramAuth("invalid field name")
        # Telegram sends ints as plain decimal; a JSON body may carry them as numbers or strings.
        if isinstance(value, str):
            text = value
        elif isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        else:
            raise InvalidTelegramAuth(f"invalid {key}")
        _check_field_shape(key, text)
        fields[key] = text
    return fields


def verify_login_widget(
    data: Mapping[str, object],
    bot_token: str,
    *,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    now: datetime | None = None,
) -> TelegramIdentity:
    """Return the identity in Login Widget data, or raise InvalidTelegramAuth."""
    _require_token(bot_token)
    fields = _stringify_widget_fields(data)
    _verify_hash(_widget_secret(bot_token), fields)
    auth_date = _check_auth_date(fields.get("auth_date"), max_age_seconds=max_age_seconds, now=now)
    if "id" not in fields:
        raise InvalidTelegramAuth("missing id")
    return TelegramIdentity(
        telegram_id=_parse_uint(fields["id"], "id"),
        first_name=_required_str(fields, "first_name"),
        last_name=_optional_str(fields, "last_name"),
        username=_optional_str(fields, "username"),
        photo_url=_optional_str(fields, "photo_url"),
        language_code=None,
        auth_date=auth_date,
    )


def sign_login_widget(fields: Mapping[str, object], bot_token: str) -> dict[str, str]:
    """Return `fields` (stringified) plus the hash Telegram would attach. For tests and dev tooling."""
    _require_token(bot_token)
    if "hash" in fields:
        raise ValueError("fields already contain a hash")
    signed = _stringify_widget_fields(fields)
    signed["hash"] = _compute_hash(_widget_secret(bot_token), signed)
    return signed


# --- Mini App initData ----------------------------------------------------------------------


def _parse_init_data(init_data: str) -> dict[str, str]:
    if not isinstance(init_data, str) or not init_data:
        raise InvalidTelegramAuth("empty init data")
    try:
        pairs = parse_qsl(
            init_data,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=_MAX_INIT_DATA_FIELDS,
        )
    except ValueError as exc:  # includes UnicodeDecodeError and too many fields
        raise InvalidTelegramAuth("malformed init data") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InvalidTelegramAuth("duplicate field in init data")
    for key, value in fields.items():
        _check_field_shape(key, value)
    return fields


def _parse_user(raw: str | None) -> Mapping[str, object]:
    if raw is None:
        raise InvalidTelegramAuth("missing user")
    try:
        user = json.loads(raw)
    except ValueError as exc:
        raise InvalidTelegramAuth("invalid user") from exc
    if not isinstance(user, dict):
        raise InvalidTelegramAuth("invalid user")
    return user


def verify_init_data(
    init_data: str,
    bot_token: str,
    *,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    now: datetime | None = None,
) -> TelegramIdentity:
    """Return the user identity in Mini App initData, or raise InvalidTelegramAuth."""
    _require_token(bot_token)
    fields = _parse_init_data(init_data)
    # Only `hash` is left out of the check string; a third-party `signature` field is signed too.
    _verify_hash(_web_app_secret(bot_token), fields)
    auth_date = _check_auth_date(fields.get("auth_date"), max_age_seconds=max_age_seconds, now=now)
    user = _parse_user(fields.get("user"))
    if "id" not in user:
        raise InvalidTelegramAuth("missing user id")
    user_id = user["id"]
    if not isinstance(user_id, int):  # JSON ids are numbers; a string here is not Telegram's data
        raise InvalidTelegramAuth("invalid user id")
    return TelegramIdentity(
        telegram_id=_parse_uint(user_id, "user id"),
        first_name=_required_str(user, "first_name"),
        last_name=_optional_str(user, "last_name"),
        username=_optional_str(user, "username"),
        photo_url=_optional_str(user, "photo_url"),
        language_code=_optional_str(user, "language_code"),
        auth_date=auth_date,
    )


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """Return URL-encoded initData for `fields` with a valid hash. For tests and dev tooling."""
    _require_token(bot_token)
    if "hash" in fields:
        raise ValueError("fields already contain a hash")
    signed = dict(fields)
    signed["hash"] = _compute_hash(_web_app_secret(bot_token), signed)
    # Percent-encode like the Telegram clients do (%20, not "+"); parse_qsl accepts both.
    return urlencode(signed, quote_via=quote)
