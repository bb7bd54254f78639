"""Fixtures of the finance pages: a grant whose first tranche is payable, and page helpers.

Who sees what here (grants.money_views): finance of the fund's foundation records and pays; the auditor
looks at the donation and tranche pages but changes nothing; every foundation person sees the statement;
people of communities and street offices, and outsiders, get 404 (the fund is not revealed to them).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from grants.models import GrantApplication, Tranche
from grants.services import donation_record
from grants.states import State
from tests.helpers import advance


@pytest.fixture
def today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def urls(cast):
    """The money pages of the cast's fund, by name."""
    fund = cast.fund.pk
    return {
        "index": reverse("money:index"),
        "statement": reverse("money:statement", args=[fund]),
        "xlsx": reverse("money:statement_xlsx", args=[fund]),
        "donations": reverse("money:donations", args=[fund]),
        "donation_create": reverse("money:donation_create", args=[fund]),
        "tranches": reverse("money:tranches", args=[fund]),
        "refund": reverse("money:refund_create", args=[fund]),
        "fee": reverse("money:management_fee_create", args=[fund]),
    }


@pytest.fixture
def grant_in_progress(cast, make_application) -> GrantApplication:
    """A 40,000 yuan grant of A1 with its agreement signed: tranche 1 (50%) is payable."""
    application = make_application(requested_amount=Decimal("40000.00"))
    advance(application, State.IN_PROGRESS, cast)
    assert application.tranches.filter(status=Tranche.Status.PAYABLE).count() == 1
    return application


@pytest.fixture
def anonymous_gift(cast, today):
    """A received gift whose donor wants to stay anonymous: their name is for finance's eyes only."""
    return donation_record(actor=cast.finance, fund=cast.fund, amount="888.00", donor_name="钱隐名",
                           is_anonymous=True, purpose="社区公益", received_on=today, bank_reference="ANON-1")


def pay_url(tranche: Tranche) -> str:
    return reverse("money:tranche_pay", args=[tranche.application.fund_id, tranche.pk])


def receive_url(donation) -> str:
    return reverse("money:donation_receive", args=[donation.fund_id, donation.pk])
