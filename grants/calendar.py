"""Working days on the official Chinese calendar, with administrator-entered days for later years."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import chinese_calendar
from chinese_calendar import constants as official
from django.utils.translation import gettext as _

from .models.calendar import CalendarDay

# The years the chinesecalendar package knows (holidays and make-up working days published by the State Council).
OFFICIAL_YEARS = range(min(official.holidays).year, max(official.holidays).year + 1)


# Inside `overrides_read_once()`: every entered day, read on first use (None outside it, {} not read yet).
_read_once: ContextVar[dict[dt.date, bool] | None] = ContextVar("calendar_overrides", default=None)
_NOT_READ: dict[dt.date, bool] = {}


@contextmanager
def overrides_read_once() -> Iterator[None]:
    """Within the block, the entered days are read from the database once, for every date asked about.

    For one transition and the flow steps it sets off (a task's two timers, the publicity end): nobody
    enters calendar days in the middle of those, and each would otherwise read them again.
    """
    if _read_once.get() is not None:  # nested: the outer block already reads once
        yield
        return
    token = _read_once.set(_NOT_READ)
    try:
        yield
    finally:
        _read_once.reset(token)


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    cached = _read_once.get()
    if cached is None:
        return dict(CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_working_day"))
    if cached is _NOT_READ:
        # The table holds a few dozen days a year: all of them cost no more than a range.
        cached = dict(CalendarDay.objects.values_list("date", "is_working_day"))
        _read_once.set(cached)
    return cached


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
