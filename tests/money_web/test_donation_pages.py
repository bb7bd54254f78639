"""Donation pages: finance records and receipts gifts through the page; others look or are turned away."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from grants.models import Donation, LedgerEntry

from .conftest import receive_url

pytestmark = pytest.mark.django_db


def zh(text: str) -> str:
    """`text` as the page shows it: pages are in Simplified Chinese by default."""
    with translation.override("zh-hans"):
        return gettext(text)


def donation_data(**overrides) -> dict[str, str]:
    data = {"amount": "1234.50", "donor_name": "王建华", "donor_kind": "person", "purpose": "支持社区助老",
            "received_on": "", "bank_reference": "ICBC-TEST-0001"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_finance_records_a_received_donation_through_the_page(client, cast, urls, today):
    client.force_login(cast.finance)

    assert client.get(urls["donation_create"]).status_code == 200
    response = client.post(urls["donation_create"], donation_data(received_on=today.isoformat(),
                                                                   restricted_category=str(cast.elder_care.pk)))

    assert response.status_code == 302 and response.url == urls["donations"]
    donation = Donation.objects.get(bank_reference="ICBC-TEST-0001")
    assert (donation.status, donation.amount, donation.recorded_by) == ("received", Decimal("1234.50"), cast.finance)
    assert donation.restricted_category == cast.elder_care
    assert donation.receipt_number
    assert LedgerEntry.objects.filter(donation=donation, kind=LedgerEntry.Kind.DONATION_RECEIVED).count() == 1
    page = client.get(urls["donations"]).content.decode()
    assert donation.receipt_number in page and "王建华" in page


def test_an_announced_donation_is_receipted_when_finance_marks_it_as_arrived(client, cast, urls, today):
    client.force_login(cast.finance)
    client.post(urls["donation_create"], donation_data())
    donation = Donation.objects.get(bank_reference="ICBC-TEST-0001")
    assert donation.status == "pledged" and donation.receipt_number is None
    assert not LedgerEntry.objects.filter(donation=donation).exists()

    response = client.post(receive_url(donation), {"received_on": today.isoformat()})

    assert response.status_code == 302
    donation.refresh_from_db()
    assert donation.status == "received" and donation.receipt_number and donation.received_on == today
    again = client.post(receive_url(donation), {"received_on": today.isoformat()})
    assert again.status_code == 409
    assert LedgerEntry.objects.filter(donation=donation).count() == 1


def test_the_services_refusal_is_shown_on_the_form(client, cast, urls):
    client.force_login(cast.finance)

    both = client.post(urls["donation_create"], donation_data(is_anonymous="on", public_acknowledgement="on"))

    assert both.status_code == 400
    assert escape(zh("An anonymous donor cannot also be thanked by name.")) in both.content.decode()
    client.post(urls["donation_create"], donation_data())
    duplicate = client.post(urls["donation_create"], donation_data())
    # donation_record's full_clean finds the duplicate bank reference before the database does (400);
    # a concurrent duplicate is caught by the database and refused as a conflict (409).
    assert duplicate.status_code in (400, 409)
    assert Donation.objects.filter(bank_reference="ICBC-TEST-0001").count() == 1


@pytest.mark.parametrize("person", ["programme_officer", "secretary_general", "board_member", "auditor"])
def test_foundation_staff_who_are_not_finance_may_not_record_a_donation(client, cast, urls, person):
    client.force_login(getattr(cast, person))
    before = Donation.objects.count()

    assert client.get(urls["donation_create"]).status_code == 403
    assert client.post(urls["donation_create"], donation_data()).status_code == 403
    assert client.get(urls["fee"]).status_code == 403
    assert Donation.objects.count() == before


@pytest.mark.parametrize("person", ["applicant", "street_reviewer", "outsider"])
def test_people_outside_the_foundation_do_not_learn_that_the_fund_exists(client, cast, urls, person):
    client.force_login(getattr(cast, person))

    for name in ("donations", "donation_create", "tranches", "statement", "xlsx"):
        assert client.get(urls[name]).status_code == 404, name
    assert client.get(urls["index"]).status_code == 403


def test_the_auditor_may_look_at_donations_but_not_receive_one(client, cast, urls):
    pledged = Donation.objects.create(fund=cast.fund, amount=Decimal("100.00"), donor_name="某公司")
    client.force_login(cast.auditor)

    page = client.get(urls["donations"])

    assert page.status_code == 200
    assert receive_url(pledged) not in page.content.decode()
    assert client.post(receive_url(pledged), {"received_on": "2026-01-05"}).status_code == 403
    pledged.refresh_from_db()
    assert pledged.status == "pledged"


def test_programme_officer_sees_the_statement_but_not_the_donations(client, cast, urls):
    client.force_login(cast.programme_officer)

    assert client.get(urls["statement"]).status_code == 200
    assert client.get(urls["donations"]).status_code == 403
    assert client.get(urls["tranches"]).status_code == 403
