"""Telegram Login Widget and Mini App initData validation.

Positive-path payloads are signed here with hmac/hashlib directly, not with the module's sign_*
helpers, so a shared bug in signing and verifying cannot cancel out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest

from academy.auth.telegram import (
    InvalidTelegramAuth,
    TelegramIdentity,
    sign_init_data,
    sign_login_widget,
    verify_init_data,
    verify_login_widget,
)

BOT_TOKEN = "123456789:AAExampleBotTokenForTestsOnly_0123456"
OTHER_TOKEN = "987654321:AAAnotherBotTokenThatIsNotOurs_98765"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())

USER = {
    "id": 279058397,
    "first_name": "Vladislav",
    "last_name": "Kibenko",
    "username": "vdkfrost",
    "language_code": "ru",
    "is_premium": True,
    "allows_write_to_pm": True,
    "photo_url": "https://t.me/i/userpic/320/abc.svg",
}


# --- independent reference signing (straight from Telegram's docs) --------------------------


def _check_string(fields: dict[str, str]) -> bytes:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash").encode()


def widget_secret(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def web_app_secret(token: str) -> bytes:
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def ref_hash(secret: bytes, fields: dict[str, str]) -> str:
    return hmac.new(secret, _check_string(fields), hashlib.sha256).hexdigest()


def init_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(USER, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(NOW_TS - 30),
    }
    fields.update(overrides)
    return fields


def make_init_data(fields: dict[str, str], secret: bytes | None = None) -> str:
    signed = dict(fields)
    signed["hash"] = ref_hash(secret if secret is not None else web_app_secret(BOT_TOKEN), fields)
    return urlencode(signed, quote_via=quote)


def widget_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": 279058397,
        "first_name": "Vladislav",
        "last_name": "Kibenko",
        "username": "vdkfrost",
        "photo_url": "https://t.me/i/userpic/320/abc.jpg",
        "auth_date": NOW_TS - 30,
    }
    fields.update(overrides)
    return fields


def make_widget(fields: dict[str, object], secret: bytes | None = None) -> dict[str, object]:
    as_text = {k: str(v) for k, v in fields.items()}
    return {**fields, "hash": ref_hash(secret if secret is not None else widget_secret(BOT_TOKEN), as_text)}


def expect_rejected(match: str, fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(InvalidTelegramAuth, match=match):
        fn(*args, **kwargs)


# --- Mini App initData ----------------------------------------------------------------------


def test_valid_init_data_is_accepted_and_user_parsed() -> None:
    identity = verify_init_data(make_init_data(init_fields()), BOT_TOKEN, now=NOW)

    assert identity == TelegramIdentity(
        telegram_id=279058397,
        first_name="Vladislav",
        last_name="Kibenko",
        username="vdkfrost",
        photo_url="https://t.me/i/userpic/320/abc.svg",
        language_code="ru",
        auth_date=datetime.fromtimestamp(NOW_TS - 30, UTC),
    )


def test_init_data_with_only_required_user_fields() -> None:
    user = json.dumps({"id": 42, "first_name": "Ann"})
    identity = verify_init_data(make_init_data(init_fields(user=user)), BOT_TOKEN, now=NOW)

    assert (identity.telegram_id, identity.first_name) == (42, "Ann")
    assert identity.last_name is identity.username is identity.photo_url is identity.language_code is None


def test_init_data_accepts_plus_encoded_spaces_and_unicode() -> None:
    user = json.dumps({"id": 7, "first_name": "Анна Мария"}, ensure_ascii=False)
    fields = init_fields(user=user)
    signed = {**fields, "hash": ref_hash(web_app_secret(BOT_TOKEN), fields)}

    identity = verify_init_data(urlencode(signed), BOT_TOKEN, now=NOW)  # quote_plus: spaces as "+"

    assert identity.first_name == "Анна Мария"


def test_signature_field_is_part_of_the_check_string() -> None:
    fields = init_fields(signature="c2lnbmF0dXJlLWZvci10aGlyZC1wYXJ0aWVz")
    assert verify_init_data(make_init_data(fields), BOT_TOKEN, now=NOW).telegram_id == USER["id"]

    # A hash computed without `signature` must not validate data that carries one.
    without_signature = {k: v for k, v in fields.items() if k != "signature"}
    forged = dict(fields, hash=ref_hash(web_app_secret(BOT_TOKEN), without_signature))
    expect_rejected("hash mismatch", verify_init_data, urlencode(forged, quote_via=quote), BOT_TOKEN, now=NOW)


def test_tampered_user_json_is_rejected() -> None:
    fields = init_fields()
    signed = dict(fields, hash=ref_hash(web_app_secret(BOT_TOKEN), fields))
    signed["user"] = signed["user"].replace("279058397", "1")

    expect_rejected("hash mismatch", verify_init_data, urlencode(signed, quote_via=quote), BOT_TOKEN, now=NOW)


def test_tampered_auth_date_is_rejected() -> None:
    fields = init_fields(auth_date=str(NOW_TS - 200_000))
    signed = dict(fields, hash=ref_hash(web_app_secret(BOT_TOKEN), fields))
    signed["auth_date"] = str(NOW_TS - 10)  # try to refresh stale data

    expect_rejected("hash mismatch", verify_init_data, urlencode(signed, quote_via=quote), BOT_TOKEN, now=NOW)


def test_added_field_is_rejected() -> None:
    init_data = make_init_data(init_fields()) + "&start_param=admin"

    expect_rejected("hash mismatch", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_wrong_bot_token_is_rejected() -> None:
    init_data = make_init_data(init_fields(), secret=web_app_secret(OTHER_TOKEN))

    expect_rejected("hash mismatch", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_missing_hash_is_rejected() -> None:
    init_data = urlencode(init_fields(), quote_via=quote)

    expect_rejected("missing hash", verify_init_data, init_data, BOT_TOKEN, now=NOW)
    expect_rejected("missing hash", verify_init_data, init_data + "&hash=", BOT_TOKEN, now=NOW)


def test_garbage_hash_is_rejected() -> None:
    init_data = urlencode({**init_fields(), "hash": "ÿ" * 64}, quote_via=quote)

    expect_rejected("hash mismatch", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_stale_auth_date_is_rejected() -> None:
    init_data = make_init_data(init_fields(auth_date=str(NOW_TS - 86401)))

    expect_rejected("too old", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_max_age_is_configurable_and_inclusive() -> None:
    init_data = make_init_data(init_fields(auth_date=str(NOW_TS - 300)))

    assert verify_init_data(init_data, BOT_TOKEN, max_age_seconds=300, now=NOW)
    expect_rejected("too old", verify_init_data, init_data, BOT_TOKEN, max_age_seconds=299, now=NOW)


def test_future_auth_date_is_rejected() -> None:
    init_data = make_init_data(init_fields(auth_date=str(NOW_TS + 61)))

    expect_rejected("in the future", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_small_clock_skew_is_tolerated() -> None:
    init_data = make_init_data(init_fields(auth_date=str(NOW_TS + 60)))

    assert verify_init_data(init_data, BOT_TOKEN, now=NOW).telegram_id == USER["id"]


def test_now_defaults_to_current_time() -> None:
    fresh = make_init_data(init_fields(auth_date=str(int(datetime.now(UTC).timestamp()))))
    stale = make_init_data(
        init_fields(auth_date=str(int((datetime.now(UTC) - timedelta(days=2)).timestamp())))
    )

    assert verify_init_data(fresh, BOT_TOKEN).telegram_id == USER["id"]
    expect_rejected("too old", verify_init_data, stale, BOT_TOKEN)


def test_duplicate_keys_are_rejected() -> None:
    fields = init_fields()
    init_data = make_init_data(fields)
    other_user = json.dumps({"id": 1, "first_name": "Mallory"})

    duplicated = init_data + "&" + urlencode({"user": other_user}, quote_via=quote)
    expect_rejected("duplicate", verify_init_data, duplicated, BOT_TOKEN, now=NOW)

    # Even an exact repeat of a signed pair is refused.
    expect_rejected(
        "duplicate", verify_init_data, init_data + "&auth_date=" + fields["auth_date"], BOT_TOKEN, now=NOW
    )


@pytest.mark.parametrize("init_data", ["", "garbage", "a=1&&b=2", "user=%ff&hash=00", "=x&hash=00"])
def test_malformed_init_data_is_rejected(init_data: str) -> None:
    with pytest.raises(InvalidTelegramAuth):
        verify_init_data(init_data, BOT_TOKEN, now=NOW)


@pytest.mark.parametrize("wrap", ["{}&&", "&{}", "{}&", "{}&garbage"])
def test_malformed_segments_around_signed_data_are_rejected(wrap: str) -> None:
    # Lenient parsing would silently drop these segments and accept the signed remainder.
    init_data = wrap.format(make_init_data(init_fields()))

    expect_rejected("malformed", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_missing_or_invalid_auth_date_is_rejected() -> None:
    fields = init_fields()
    del fields["auth_date"]
    expect_rejected("missing auth_date", verify_init_data, make_init_data(fields), BOT_TOKEN, now=NOW)

    for bad in ["", "soon", "1.5", "-5", " 1748779170", "１２３"]:
        init_data = make_init_data(init_fields(auth_date=bad))
        expect_rejected("invalid auth_date", verify_init_data, init_data, BOT_TOKEN, now=NOW)


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (None, "missing user"),
        ("not json", "invalid user"),
        ("[1, 2]", "invalid user"),
        ('{"first_name": "A"}', "missing user id"),
        ('{"id": "42", "first_name": "A"}', "invalid user id"),
        ('{"id": true, "first_name": "A"}', "invalid user id"),
        ('{"id": 0, "first_name": "A"}', "invalid user id"),
        ('{"id": 42}', "missing first_name"),
        ('{"id": 42, "first_name": "A", "username": 5}', "invalid username"),
    ],
)
def test_invalid_user_is_rejected_even_when_signed(user: str | None, message: str) -> None:
    fields = init_fields()
    if user is None:
        del fields["user"]
    else:
        fields["user"] = user

    expect_rejected(message, verify_init_data, make_init_data(fields), BOT_TOKEN, now=NOW)


def test_newline_in_a_value_is_rejected() -> None:
    # A newline would let one field forge extra "key=value" lines in the check string.
    init_data = make_init_data(init_fields(start_param="x\nauth_date=1"))

    expect_rejected("invalid start_param", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_empty_bot_token_is_rejected() -> None:
    init_data = make_init_data(init_fields(), secret=web_app_secret(""))

    expect_rejected("empty bot token", verify_init_data, init_data, "", now=NOW)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_init_data(make_init_data(init_fields()), BOT_TOKEN, now=datetime(2025, 6, 1))


# --- each key derivation only works for its own flow ----------------------------------------


def test_init_data_signed_with_widget_derivation_is_rejected() -> None:
    init_data = make_init_data(init_fields(), secret=widget_secret(BOT_TOKEN))

    expect_rejected("hash mismatch", verify_init_data, init_data, BOT_TOKEN, now=NOW)


def test_widget_signed_with_web_app_derivation_is_rejected() -> None:
    data = make_widget(widget_fields(), secret=web_app_secret(BOT_TOKEN))

    expect_rejected("hash mismatch", verify_login_widget, data, BOT_TOKEN, now=NOW)


# --- Login Widget ---------------------------------------------------------------------------


def test_valid_widget_data_is_accepted() -> None:
    identity = verify_login_widget(make_widget(widget_fields()), BOT_TOKEN, now=NOW)

    assert identity == TelegramIdentity(
        telegram_id=279058397,
        first_name="Vladislav",
        last_name="Kibenko",
        username="vdkfrost",
        photo_url="https://t.me/i/userpic/320/abc.jpg",
        language_code=None,
        auth_date=datetime.fromtimestamp(NOW_TS - 30, UTC),
    )


def test_widget_values_may_arrive_as_strings() -> None:
    data = {k: str(v) for k, v in make_widget(widget_fields()).items()}

    assert verify_login_widget(data, BOT_TOKEN, now=NOW).telegram_id == 279058397


@pytest.mark.parametrize(
    "missing", [(), ("last_name",), ("username", "photo_url"), ("last_name", "username", "photo_url")]
)
def test_widget_optional_fields_may_be_missing(missing: tuple[str, ...]) -> None:
    fields = {k: v for k, v in widget_fields().items() if k not in missing}

    identity = verify_login_widget(make_widget(fields), BOT_TOKEN, now=NOW)

    assert identity.telegram_id == 279058397
    for name in missing:
        assert getattr(identity, name) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", 1), ("first_name", "Mallory"), ("username", "admin"), ("auth_date", NOW_TS - 1)],
)
def test_tampered_widget_is_rejected(field: str, value: object) -> None:
    data = make_widget(widget_fields())
    data[field] = value

    expect_rejected("hash mismatch", verify_login_widget, data, BOT_TOKEN, now=NOW)


def test_widget_dropped_optional_field_is_rejected() -> None:
    data = make_widget(widget_fields())
    del data["last_name"]

    expect_rejected("hash mismatch", verify_login_widget, data, BOT_TOKEN, now=NOW)


def test_widget_wrong_bot_token_is_rejected() -> None:
    data = make_widget(widget_fields(), secret=widget_secret(OTHER_TOKEN))

    expect_rejected("hash mismatch", verify_login_widget, data, BOT_TOKEN, now=NOW)


def test_widget_missing_hash_is_rejected() -> None:
    expect_rejected("missing hash", verify_login_widget, widget_fields(), BOT_TOKEN, now=NOW)


def test_widget_stale_and_future_auth_date_are_rejected() -> None:
    stale = make_widget(widget_fields(auth_date=NOW_TS - 86401))
    future = make_widget(widget_fields(auth_date=NOW_TS + 61))

    expect_rejected("too old", verify_login_widget, stale, BOT_TOKEN, now=NOW)
    expect_rejected("in the future", verify_login_widget, future, BOT_TOKEN, now=NOW)


def test_widget_missing_required_fields_are_rejected() -> None:
    for required, message in [
        ("auth_date", "missing auth_date"),
        ("id", "missing id"),
        ("first_name", "missing first_name"),
    ]:
        fields = {k: v for k, v in widget_fields().items() if k != required}
        expect_rejected(message, verify_login_widget, make_widget(fields), BOT_TOKEN, now=NOW)


@pytest.mark.parametrize("value", [None, True, 1.5, ["x"]])
def test_widget_non_string_non_int_values_are_rejected(value: object) -> None:
    data = make_widget(widget_fields())
    data["username"] = value

    expect_rejected("invalid username", verify_login_widget, data, BOT_TOKEN, now=NOW)


def test_widget_empty_bot_token_is_rejected() -> None:
    data = make_widget(widget_fields(), secret=widget_secret(""))

    expect_rejected("empty bot token", verify_login_widget, data, "", now=NOW)


# --- signing helpers round-trip and agree with the reference --------------------------------


def test_sign_login_widget_matches_reference_and_round_trips() -> None:
    fields = widget_fields()
    signed = sign_login_widget(fields, BOT_TOKEN)

    assert signed == {k: str(v) for k, v in make_widget(fields).items()}
    assert verify_login_widget(signed, BOT_TOKEN, now=NOW).telegram_id == 279058397


def test_sign_init_data_matches_reference_and_round_trips() -> None:
    fields = init_fields()
    init_data = sign_init_data(fields, BOT_TOKEN)

    assert init_data == make_init_data(fields)
    assert verify_init_data(init_data, BOT_TOKEN, now=NOW).username == "vdkfrost"


def test_invalid_telegram_auth_is_a_value_error() -> None:
    assert issubclass(InvalidTelegramAuth, ValueError)
