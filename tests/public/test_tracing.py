"""Donation tracing: a donor sees which projects their gift went to and how much, and nothing about anyone else.

Restricted gifts are traced exactly through the ledger; pooled gifts by first in, first out (grants.public.tracing).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from grants import services
from grants.models import Donation
from grants.public.tracing import donation_trace, find_donation
from grants.states import State
from tests.factories import FundFactory, ServiceCategoryFactory
from tests.helpers import advance, pay_payable_tranches

from .conftest import page_text

pytestmark = pytest.mark.django_db
D = Decimal


def gift(cast, fund, amount: str, **kwargs) -> Donation:
    return services.donation_record(actor=cast.finance, fund=fund, amount=amount, received_on=timezone.localdate(),
                                    **kwargs)


def summary(trace) -> tuple[list[tuple[str, Decimal, Decimal]], Decimal, Decimal]:
    """(title, committed, paid) per project, fees, still in the fund."""
    return ([(p.application.title, p.committed, p.paid) for p in trace.projects], trace.fees, trace.unspent)


def look_up(client, donation: Donation, **extra):
    return client.post(reverse("public:trace"), {"receipt_number": donation.receipt_number,
                                                 "amount": donation.amount}, **extra)


@pytest.fixture
def restricted(cast, make_application):
    """An 80,000 yuan gift for children's services: 50,000 to a running project (half paid), 30,000 to another."""
    donation = gift(cast, cast.fund, "80000.00", donor_name="定向捐赠人", restricted_category=cast.children)
    running = advance(make_application(title="儿童托管项目", category=cast.children), State.IN_PROGRESS, cast)
    pay_payable_tranches(running, cast.finance)
    approved = advance(make_application(title="儿童阅读项目", category=cast.children), State.PUBLICITY, cast)
    return donation, running, approved


def test_a_restricted_gift_is_traced_exactly_to_its_projects(cast, restricted):
    donation, _running, _approved = restricted

    trace = donation_trace(donation)

    assert trace.is_restricted
    # The first project took 50,000 of the gift; its first tranche (25,000) was paid from restricted money first.
    # The second took the gift's last 30,000 (and 20,000 of pooled money that is not this donor's).
    assert summary(trace) == ([("儿童托管项目", D("50000.00"), D("25000.00")),
                               ("儿童阅读项目", D("30000.00"), D("0.00"))], D("0.00"), D("0.00"))


def test_a_restricted_gift_not_yet_used_is_still_in_the_fund(cast):
    donation = gift(cast, cast.fund, "5000.00", restricted_community=cast.b1)

    assert summary(donation_trace(donation)) == ([], D("0.00"), D("5000.00"))


def test_the_page_shows_a_restricted_gifts_projects_and_amounts(client, restricted):
    donation, running, approved = restricted

    response = look_up(client, donation)

    text = page_text(response)
    assert response.status_code == 200
    assert 'data-restricted="yes"' in text
    assert f'data-project="{running.pk}"' in text and f'data-project="{approved.pk}"' in text
    assert 'data-committed="50000.00"' in text and 'data-paid="25000.00"' in text
    assert 'data-committed="30000.00"' in text and 'data-unspent="0.00"' in text
    assert "50,000.00" in text


@pytest.fixture
def pooled(cast, make_application):
    """A fund of pooled money only: gifts A (60,000) and B (40,000), then a withdrawn grant, a grant of 50,000
    (half paid), a management fee of 5,000 and a grant of 30,000, in that order."""
    fund = FundFactory(foundation=cast.foundation, code="pooled", name=f"{cast.foundation.name}试点专项基金")
    category = ServiceCategoryFactory(fund=fund, code="elder", name="敬老")
    a = gift(cast, fund, "60000.00", donor_name="捐赠人甲")
    b = gift(cast, fund, "40000.00", donor_name="捐赠人乙")
    withdrawn = advance(make_application(title="撤回的项目", category=category, requested_amount=D("20000.00")),
                        State.PUBLICITY, cast)
    services.application_withdraw(actor=cast.applicant, application=withdrawn, reason="社区调整计划")
    first = advance(make_application(title="第一个项目", category=category), State.IN_PROGRESS, cast)
    pay_payable_tranches(first, cast.finance)
    services.management_fee_charge(actor=cast.finance, fund=fund, amount="5000.00", memo="年度管理费")
    second = advance(make_application(title="第二个项目", category=category, requested_amount=D("30000.00")),
                     State.PUBLICITY, cast)
    return a, b, first, second


def test_pooled_gifts_are_matched_first_in_first_out(pooled):
    a, b, _first, _second = pooled

    # The queue of pooled money: A is [0, 60,000), B is [60,000, 100,000). Spending in order: the withdrawn grant
    # gave its money back (net 0); the first grant [0, 50,000), paid [0, 25,000); the fee [50,000, 55,000);
    # the second grant [55,000, 85,000).
    assert summary(donation_trace(a)) == ([("第一个项目", D("50000.00"), D("25000.00")),
                                          ("第二个项目", D("5000.00"), D("0.00"))], D("5000.00"), D("0.00"))
    assert summary(donation_trace(b)) == ([("第二个项目", D("25000.00"), D("0.00"))], D("0.00"), D("15000.00"))


def test_pooled_shares_add_up_to_what_the_fund_spent(pooled):
    a, b, first, second = pooled
    traces = [donation_trace(a), donation_trace(b)]

    by_project: dict[int, Decimal] = {}
    for trace in traces:
        for row in trace.projects:
            by_project[row.application.pk] = by_project.get(row.application.pk, D(0)) + row.committed
    assert by_project == {first.pk: D("50000.00"), second.pk: D("30000.00")}
    assert sum(t.committed + t.fees + t.unspent for t in traces) == D("100000.00")


def test_the_page_labels_a_pooled_trace_as_an_allocation_by_rule(client, pooled):
    a, b, _first, _second = pooled

    text = page_text(look_up(client, a))

    assert 'data-restricted="no"' in text and 'id="trace-rule"' in text
    assert 'data-fees="5000.00"' in text and 'data-unspent="0.00"' in text
    # Nothing about the other donor: not their receipt, not their name.
    assert b.receipt_number not in text and "捐赠人乙" not in text and "捐赠人甲" not in text


def test_an_unknown_receipt_number_or_a_wrong_amount_gets_a_clear_message(client, cast, pooled):
    a, *_rest = pooled

    for data in ({"receipt_number": "POOLED-2026-999999", "amount": "60000.00"},
                 {"receipt_number": a.receipt_number, "amount": "60000.01"}):
        response = client.post(reverse("public:trace"), data)
        assert response.status_code == 404
        assert 'id="trace-not-found"' in page_text(response) and 'id="trace"' not in page_text(response)


def test_the_receipt_number_is_read_as_printed(client, pooled):
    a, *_rest = pooled

    assert find_donation(receipt_number=f"  {a.receipt_number.lower()} ", amount=a.amount) == a


def test_look_ups_are_rate_limited_per_client_address(client, pooled, settings):
    settings.PUBLIC_TRACE_RATE = "2/h"
    a, *_rest = pooled
    for _ in range(2):
        assert look_up(client, a).status_code == 200

    response = look_up(client, a)

    assert response.status_code == 429
    assert 'id="rate-limited"' in page_text(response) and 'id="trace"' not in page_text(response)
    assert look_up(client, a, REMOTE_ADDR="198.51.100.7").status_code == 200
    # Opening the form is not a look-up and is never held back.
    assert client.get(reverse("public:trace")).status_code == 200


def test_a_gift_not_yet_received_cannot_be_looked_up(client, cast):
    pledged = services.donation_record(actor=cast.finance, fund=cast.fund, amount="1000.00", donor_name="认捐人")

    assert pledged.receipt_number is None
    assert find_donation(receipt_number="", amount=pledged.amount) is None
