"""The injectable clock, RFC 3339 times, and working days with 调休."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.core import clock
from app.core.clock import WorkCalendar, calendar_from_config

# 2015 National Day: 1–7 October off; Saturday 10 October worked instead (调休).
NATIONAL_DAY_2015 = WorkCalendar(
    holidays=[f"2015-10-0{d}" for d in range(1, 8)], extra_workdays=["2015-10-10"]
)


def test_set_now_pins_and_restores():
    moment = datetime(2015, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(moment)
    assert clock.now() == moment
    clock.set_now(None)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_set_now_refuses_naive_and_converts_to_utc():
    with pytest.raises(ValueError):
        clock.set_now(datetime(2015, 3, 2, 9, 0))
    beijing = timezone(timedelta(hours=8))
    clock.set_now(datetime(2015, 3, 2, 9, 0, tzinfo=beijing))
    assert clock.now() == datetime(2015, 3, 2, 1, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)


def test_frozen_nests_and_restores():
    outer = datetime(2015, 1, 1, tzinfo=UTC)
    inner = datetime(2016, 1, 1, tzinfo=UTC)
    with clock.frozen(outer):
        assert clock.now() == outer
        with clock.frozen(inner):
            assert clock.now() == inner
        assert clock.now() == outer
    assert clock.now() != outer


def test_frozen_restores_after_an_error():
    with pytest.raises(RuntimeError), clock.frozen(datetime(2015, 1, 1, tzinfo=UTC)):
        raise RuntimeError
    assert clock.now().year >= 2025


def test_rfc3339_has_microseconds_and_z():
    assert clock.rfc3339(datetime(2015, 3, 2, 1, 15, tzinfo=UTC)) == "2015-03-02T01:15:00.000000Z"
    beijing = timezone(timedelta(hours=8))
    assert (
        clock.rfc3339(datetime(2015, 3, 2, 9, 15, 0, 250000, tzinfo=beijing))
        == "2015-03-02T01:15:00.250000Z"
    )
    assert clock.rfc3339(datetime(2015, 3, 2, 1, 15)) == "2015-03-02T01:15:00.000000Z"  # naive=UTC
    assert clock.rfc3339(None) is None


def test_today_is_the_shanghai_date():
    with clock.frozen(datetime(2015, 3, 1, 17, 0, tzinfo=UTC)):  # 01:00 on 2 March in Beijing
        assert clock.today() == date(2015, 3, 2)
        assert clock.local(clock.now()).hour == 1


def test_national_day_holidays_and_make_up_day():
    cal = NATIONAL_DAY_2015
    assert cal.is_working_day(date(2015, 9, 30))
    for d in range(1, 8):
        assert not cal.is_working_day(date(2015, 10, d))
    assert cal.is_working_day(date(2015, 10, 10))  # a Saturday, worked
    assert not cal.is_working_day(date(2015, 10, 11))  # Sunday
    assert cal.is_working_day(date(2015, 10, 8))


def test_add_working_days_over_the_holiday():
    cal = NATIONAL_DAY_2015
    assert cal.add_working_days(date(2015, 9, 30), 1) == date(2015, 10, 8)
    assert cal.add_working_days(date(2015, 9, 30), 3) == date(2015, 10, 10)
    assert cal.add_working_days(date(2015, 9, 30), 4) == date(2015, 10, 12)
    assert cal.add_working_days(date(2015, 10, 8), -1) == date(2015, 9, 30)
    assert cal.add_working_days(date(2015, 9, 30), 0) == date(2015, 9, 30)
    plain = WorkCalendar()
    assert plain.add_working_days(date(2015, 9, 30), 4) == date(2015, 10, 6)


def test_working_days_between():
    cal = NATIONAL_DAY_2015
    assert cal.working_days_between(date(2015, 9, 30), date(2015, 10, 12)) == 4
    assert cal.working_days_between(date(2015, 9, 30), date(2015, 10, 7)) == 0
    assert cal.working_days_between(date(2015, 10, 12), date(2015, 9, 30)) == 0
    assert WorkCalendar().working_days_between(date(2015, 9, 28), date(2015, 10, 5)) == 5


def test_calendar_from_config():
    cal = calendar_from_config({"HOLIDAYS": ("2015-10-01",), "EXTRA_WORKDAYS": ("2015-10-10",)})
    assert not cal.is_working_day(date(2015, 10, 1))
    assert cal.is_working_day(date(2015, 10, 10))
