"""The one injectable clock and working-day arithmetic.

Domain code calls ``now()``; tests and the demo move time with ``set_now``
or ``frozen``. Times are timezone-aware UTC; display is Asia/Shanghai.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_override: datetime | None = None


def now() -> datetime:
    """Current time in UTC, or the time tests and the demo have set."""
    return _override if _override is not None else datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    """Pin the clock to ``value`` (aware); ``None`` restores the real clock."""
    global _override
    if value is not None and value.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _override = value.astimezone(UTC) if value is not None else None


@contextlib.contextmanager
def frozen(value: datetime):
    """Run a block with the clock pinned to ``value``."""
    previous = _override
    set_now(value)
    try:
        yield
    finally:
        set_now(previous)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime read from the database as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """The same instant in Asia/Shanghai, for display and day boundaries."""
    return as_utc(value).astimezone(SHANGHAI)


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return local(now()).date()


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with microseconds and Z, as the audit trail and the API carry times."""
    if value is None:
        return None
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WorkCalendar:
    """Working days: Monday to Friday, less holidays, plus make-up working days."""

    def __init__(self, holidays=(), extra_workdays=()):
        self.holidays = {date.fromisoformat(d) if isinstance(d, str) else d for d in holidays}
        self.extra = {date.fromisoformat(d) if isinstance(d, str) else d for d in extra_workdays}

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day under this calendar."""
        if day in self.extra:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (start itself not counted)."""
        step = 1 if days >= 0 else -1
        current, remaining = start, abs(days)
        while remaining:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        if end <= start:
            return 0
        return sum(
            1
            for i in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=i))
        )


def calendar_from_config(config) -> WorkCalendar:
    """The configured holiday calendar."""
    return WorkCalendar(config.get("HOLIDAYS", ()), config.get("EXTRA_WORKDAYS", ()))
