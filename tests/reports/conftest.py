"""Fixtures of the reporting pages: the logged-in test clients of tests/web, and long-running projects.

Who may do what here (see tests/conftest.py for the cast): the applicant of A1 writes the completion report of
A1's projects; the programme officer and the secretary-general of the foundation extend deadlines; the street
reviewer of street A sees A1's projects but may not extend (403); the applicant of B1 and the reviewer of street B
do not see them at all (404).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from grants.services import BudgetLineData
from grants.services.reporting import add_months

# Budget lines of the projects here: services 40,000 and activities 10,000 of a 50,000 yuan grant.
LINES = [BudgetLineData("services", "社工服务", Decimal("40000.00")),
         BudgetLineData("activities", "活动物料", Decimal("10000.00"))]


@pytest.fixture
def browser(db):
    """A test client logged in as the person *now*: these tests travel months ahead, past any session's age."""

    def of(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return of


@pytest.fixture
def make_project(cast, make_application):
    """A draft of A1 starting in 30 days and running `months` (12 by default: it reports every 3 months)."""

    def make(*, months: int = 12, title: str = "宇虹社区长者助餐与探访", category=None):
        start = timezone.localdate() + dt.timedelta(days=30)
        return make_application(title=title, start_date=start, end_date=add_months(start, months),
                                requested_amount=Decimal("50000.00"), budget_lines=list(LINES),
                                category=category or cast.elder_care)

    return make
