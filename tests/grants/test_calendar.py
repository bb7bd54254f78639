"""Working days on the official Chinese calendar, and administrator-entered days for later years."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from django.utils import translation

from grants.calendar import OFFICIAL_YEARS, add_working_days, calendar_warning, is_working_day, working_days_between
from grants.models import CalendarDay

D = dt.date


def test_the_package_knows_the_2026_national_day_schedule():
    # Oct 1-7 off; Sunday 20 September and Saturday 10 October are make-up working days.
    assert all(not chinese_calendar.is_workday(D(2026, 10, day)) for day in range(1, 8))
    assert chinese_calendar.is_workday(D(2026, 9, 20)) and D(2026, 9, 20).weekday() == 6
    assert chinese_calendar.is_workday(D(2026, 10, 10)) and D(2026, 10, 10).weekday() == 5
    assert 2026 in OFFICIAL_YEARS and 2027 not in OFFICIAL_YEARS


@pytest.mark.parametrize(("start", "days", "expected"), [
    (D(2026, 9, 30), 1, D(2026, 10, 8)),   # straight over the whole holiday
    (D(2026, 9, 30), 5, D(2026, 10, 13)),  # 8, 9, Sat 10 (make-up), 12, 13
    (D(2026, 10, 1), 3, D(2026, 10, 10)),  # starting on a holiday; the make-up Saturday counts
    (D(2026, 10, 9), 1, D(2026, 10, 10)),  # Friday -> the make-up Saturday, not Monday
    (D(2026, 9, 19), 1, D(2026, 9, 20)),   # Saturday -> the make-up Sunday
    (D(2026, 9, 24), 1, D(2026, 9, 28)),   # Mid-Autumn Festival (Fri 25 Sep) and the weekend off
    (D(2026, 10, 8), 0, D(2026, 10, 8)),
])
def test_add_working_days_across_the_2026_national_day(start, days, expected, db):
    assert add_working_days(start, days) == expected


def test_working_day_checks_follow_the_2026_schedule(db):
    assert not is_working_day(D(2026, 10, 5))  # a Monday off
    assert is_working_day(D(2026, 10, 10))  # a Saturday at work
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 13)) == 5
    assert working_days_between(D(2026, 10, 13), D(2026, 9, 30)) == -5


def test_administrator_entered_day_overrides_the_official_calendar(db):
    CalendarDay.objects.create(date=D(2026, 10, 8), is_working_day=False, name="台风停工")
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 9)


def test_a_year_beyond_the_package_counts_weekdays(db):
    # 2027-01-01 is a Friday: with nothing entered it is an ordinary working day.
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 1)
    assert add_working_days(D(2027, 1, 1), 1) == D(2027, 1, 4)
    assert add_working_days(D(2027, 3, 5), 5) == D(2027, 3, 12)


def test_a_year_beyond_the_package_uses_the_entered_holidays_and_make_up_days(db):
    # An administrator enters 2027's National Day as the State Council publishes it (dates illustrative).
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=D(2027, 10, day), is_working_day=False, name="国庆节") for day in range(1, 8)]
        + [CalendarDay(date=D(2027, 9, 26), is_working_day=True, name="国庆节调休"),
           CalendarDay(date=D(2027, 10, 9), is_working_day=True, name="国庆节调休")])
    assert add_working_days(D(2027, 9, 24), 1) == D(2027, 9, 26)  # Friday -> the make-up Sunday
    assert add_working_days(D(2027, 9, 30), 1) == D(2027, 10, 8)
    assert add_working_days(D(2027, 9, 30), 2) == D(2027, 10, 9)  # the make-up Saturday
    assert add_working_days(D(2027, 9, 30), 3) == D(2027, 10, 11)
    assert not is_working_day(D(2027, 10, 4)) and is_working_day(D(2027, 9, 26))


def test_calendar_warning_for_a_year_nobody_has_entered(db):
    assert calendar_warning(2026) is None
    with translation.override("en"):
        warning = calendar_warning(2027)
    assert warning and "2027" in warning
    CalendarDay.objects.create(date=D(2027, 1, 1), is_working_day=False, name="元旦")
    assert calendar_warning(2027) is None
    assert calendar_warning(2028)


def test_negative_working_days_are_refused(db):
    with pytest.raises(ValueError):
        add_working_days(D(2026, 9, 30), -1)
