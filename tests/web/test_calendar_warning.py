"""People see when the official holiday calendar of a year that deadlines fall in is not loaded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from grants.calendar import calendar_warning
from grants.models import CalendarDay

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("entered", [False, True])
def test_application_page_warns_while_next_years_holidays_are_unknown(client, cast, make_application, entered):
    application = make_application()
    client.force_login(cast.applicant)
    with translation.override("zh-hans"):
        warning = escape(calendar_warning(2027))
    with time_machine.travel(dt.datetime(2026, 12, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False):
        if entered:
            CalendarDay.objects.create(date=dt.date(2027, 1, 1), is_working_day=False, name="元旦")
        html = client.get(reverse("application_detail", args=[application.pk])).content.decode()
    assert (warning in html) is not entered
