"""seed_demo records the fund's money through the services, adds nothing on a second run, and verifies."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from grants.demo import demo_counts
from grants.models import Donation, Fund, GrantApplication, LedgerEntry, Tranche
from grants.states import State

pytestmark = pytest.mark.django_db


def seed() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_seed_demo_twice_adds_nothing_and_the_ledger_verifies(settings):
    settings.DEBUG = False
    settings.DEMO_PASSWORD = "demo"

    _out, warning = seed()
    first = demo_counts()
    out, _err = seed()
    second = demo_counts()

    assert "WARNING" in warning and "DEMO_PASSWORD" in warning
    assert first == second
    assert first["grants.Donation"] == 6 and first["grants.LedgerEntry"] > 6 and first["grants.Tranche"] > 0
    assert "recorded donation" not in out
    verified = io.StringIO()
    call_command("verify_ledger", stdout=verified)
    assert "chain and balances verified" in verified.getvalue()


def test_the_demo_money_follows_the_rules():
    seed()

    anonymous = Donation.objects.get(is_anonymous=True)
    assert anonymous.status == Donation.Status.RECEIVED and anonymous.public_name != anonymous.donor_name
    assert Donation.objects.filter(status=Donation.Status.PLEDGED, source=Donation.Source.PLATFORM).count() == 1
    assert Donation.objects.filter(restricted_category__code="elder_care").exists()
    assert Donation.objects.filter(restricted_community__name="阅湖社区").exists()
    closed = GrantApplication.objects.get(status=State.CLOSED)
    # It spent less than the first two tranches paid: the last tranche is void and the rest was returned.
    assert list(closed.tranches.order_by("number").values_list("status", flat=True)) == [
        Tranche.Status.PAID, Tranche.Status.PAID, Tranche.Status.VOID]
    refund = closed.ledger_entries.get(kind=LedgerEntry.Kind.REFUND_RECEIVED)
    assert refund.amount == Decimal("320.00")
    for application in GrantApplication.objects.filter(status__in=[State.IN_PROGRESS, State.PROGRESS_REVIEW,
                                                                   State.COMPLETION_VERIFICATION]):
        assert application.tranches.filter(status=Tranche.Status.PAID, number=1).exists(), application.title
    # Approvals drew on the restricted gifts first.
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.COMMITMENT, donation__isnull=False).exists()


def test_finance_pages_render_with_the_demo_data(client):
    seed()
    fund = Fund.objects.get(code="gzrc-community")
    anonymous = Donation.objects.get(is_anonymous=True)
    client.force_login(get_user_model().objects.get(username="finance"))
    for page in ("statement", "donations", "tranches"):
        response = client.get(f"/money/funds/{fund.pk}/{page}/")
        assert response.status_code == 200, page
        assert (anonymous.donor_name in response.content.decode()) == (page == "donations"), page
