"""Closing a project that spent less than it was paid: the unspent money is returned or moved, and disclosed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from grants.models import LedgerEntry
from grants.states import State
from tests.helpers import advance, pay_payable_tranches
from tests.web.conftest import expect, fresh, refusal

from .support import act, attach_completion_documents, payable, through_midterm, tranches, write_report

pytestmark = pytest.mark.django_db
Kind = LedgerEntry.Kind


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


@pytest.fixture
def closing(browser, cast, make_project):
    """A project paid 45,000 yuan (50% + 40%) that spent 42,000 and was accepted: it waits for finance."""
    application = advance(make_project(months=3), State.IN_PROGRESS, cast)
    through_midterm(application, cast)
    pay_payable_tranches(application, cast.finance)
    applicant = browser(cast.applicant)
    write_report(applicant, application, {"社工服务": "33000.00", "活动物料": "9000.00"},
                 {"社工服务": "部分活动合并举办，节省场地费"})
    attach_completion_documents(applicant, application)
    act(applicant, application, "submit_completion_report")
    act(browser(cast.street_reviewer), application, "verify_completion")
    assert payable(application) == []
    act(browser(cast.programme_officer), application, "accept_completion")
    application = fresh(application)
    assert application.status == State.CLOSING
    # Nothing more to pay: the final tranche is void and its commitment went back to the fund.
    assert tranches(application) == [(1, "paid", Decimal("25000.00")), (2, "paid", Decimal("20000.00")),
                                     (3, "void", Decimal("5000.00"))]
    assert payable(application) == []
    assert list(application.ledger_entries.filter(kind=Kind.COMMITMENT_RELEASED).values_list("amount", flat=True)) \
        == [Decimal("5000.00")]
    return application


def close(client, application, **data):
    return client.post(reverse("application_action", args=[application.pk, "close"]), data)


def test_unspent_money_must_be_settled_before_closing(browser, cast, closing):
    response = close(browser(cast.finance), closing, comment="结项")
    assert response.status_code == 400
    message = zh("%(amount)s yuan were paid but not spent: choose whether they are returned to the fund or moved "
                 "to a similar project.") % {"amount": Decimal("3000.00")}
    form = next(form for form in response.context["action_forms"] if form.action.name == "close")
    assert form.errors["unspent_to"] == [message]
    assert fresh(closing).status == State.CLOSING
    assert not closing.ledger_entries.filter(kind__in=[Kind.REFUND_RECEIVED, Kind.TRANSFER_OUT]).exists()


def test_unspent_money_returned_to_the_fund(browser, cast, closing):
    act(browser(cast.finance), closing, "close", unspent_to="refund", comment="结余退回基金")
    expect(closing, State.CLOSED, [], ("close", State.CLOSING, State.CLOSED, "finance"))
    refund = closing.ledger_entries.get(kind=Kind.REFUND_RECEIVED)
    assert refund.amount == Decimal("3000.00")
    assert not closing.ledger_entries.filter(kind=Kind.TRANSFER_OUT).exists()


def test_unspent_money_moved_to_a_similar_project(browser, cast, closing, make_project):
    similar = advance(make_project(months=3, title="阅湖社区长者助餐"), State.IN_PROGRESS, cast)
    other_category = advance(make_project(months=3, title="宇虹社区儿童托管", category=cast.children),
                             State.IN_PROGRESS, cast)
    finance = browser(cast.finance)
    reason = "结余资金转入同类长者助餐项目，已在公示栏公开"

    response = close(finance, closing, unspent_to="transfer", transfer_to=str(other_category.pk), reason=reason)
    assert response.status_code == 400
    assert zh("Unspent money may only move to a running project of the same fund and service category.") \
        in refusal(response)
    response = close(finance, closing, unspent_to="transfer", transfer_to=str(similar.pk), reason="")
    assert response.status_code == 400
    assert fresh(closing).status == State.CLOSING and not closing.ledger_entries.filter(
        kind=Kind.TRANSFER_OUT).exists()

    act(finance, closing, "close", unspent_to="transfer", transfer_to=str(similar.pk), reason=reason)
    expect(closing, State.CLOSED, [], ("close", State.CLOSING, State.CLOSED, "finance"))
    transfer = closing.ledger_entries.get(kind=Kind.TRANSFER_OUT)
    assert transfer.amount == Decimal("3000.00")
    assert reason in transfer.memo and str(similar.pk) in transfer.memo and similar.title in transfer.memo
    assert not closing.ledger_entries.filter(kind=Kind.REFUND_RECEIVED).exists()
