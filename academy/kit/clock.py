from datetime import UTC, datetime
from zoneinfo import available_timezones

TIMEZONES = frozenset(available_timezones())
SORTED_TIMEZONES = tuple(sorted(TIMEZONES))


def now() -> datetime:
    return datetime.now(UTC)


def check_timezone(value: str | None) -> str | None:
    """For validators: IANA names only, so every page can show local time."""
    if value is not None and value not in TIMEZONES:
        raise ValueError(f"Unknown time zone: {value}")
    return value
