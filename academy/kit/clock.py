from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from zoneinfo import available_timezones

TIMEZONES = frozenset(available_timezones())
SORTED_TIMEZONES = tuple(sorted(TIMEZONES))

_frozen: ContextVar[datetime | None] = ContextVar("academy_frozen_now", default=None)


def now() -> datetime:
    return _frozen.get() or datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Make `now()` return `at` inside the block: for building a realistic demo history and for
    tests of day boundaries. Context-local, so concurrent requests are unaffected."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    token = _frozen.set(at.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(token)


def check_timezone(value: str | None) -> str | None:
    """For validators: IANA names only, so every page can show local time."""
    if value is not None and value not in TIMEZONES:
        raise ValueError(f"Unknown time zone: {value}")
    return value
