"""Working days on the official Chinese calendar, with administrator-entered days for later years."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from chinese_calendar import constants as official
from django.utils.translation import gettext as _

from .models.calendar import CalendarDay

# The years the chinesecalendar package knows (holidays and make-up working days published by the State Council).
OFFICIAL_YEARS = range(min(official.holidays).year, max(official.holidays).year + 1)


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    return dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_working_day"))


def _is_working_day(day: dt.date, overrides: dict[dt.date, bool]) -> bool:
    if day in overrides:
        return overrides[day]
    if day.year in OFFICIAL_YEARS:
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def is_working_day(day: dt.date) -> bool:
    """Whether people work on this date (official calendar, else weekdays and entered holidays)."""
    return _is_working_day(day, _overrides(day, day))


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date that is `days` working days after `start` (start itself does not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    # Three calendar days per working day plus two weeks covers the longest holiday run (Spring Festival).
    overrides = _overrides(start, start + dt.timedelta(days=days * 3 + 14))
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if _is_working_day(day, overrides):
            left -= 1
    return day


def subtract_working_days(start: dt.date, days: int) -> dt.date:
    """The date that lies `days` working days before `start` (start itself does not count)."""
    overrides = _overrides(start - dt.timedelta(days=days * 3 + 14), start)
    day, left = start, days
    while left:
        day -= dt.timedelta(days=1)
        if _is_working_day(day, overrides):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working days lie after `start` up to and including `end` (negative if end is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    overrides = _overrides(start, end)
    return sum(_is_working_day(start + dt.timedelta(days=n), overrides) for n in range(1, (end - start).days + 1))


def calendar_warning(year: int) -> str | None:
    """A warning to show when the official holidays of `year` are not known to the system."""
    if year in OFFICIAL_YEARS or CalendarDay.objects.filter(date__year=year).exists():
        return None
    return _("The official holiday calendar for %(year)s is not loaded: working days are counted as weekdays "
             "until an administrator enters that year's holidays and make-up working days.") % {"year": year}
