"""Closing money: the final tranche pays what was really spent; unspent money is returned or moved, disclosed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants import services
from grants.errors import ApplicationError
from grants.models import GrantApplication, Tranche
from grants.selectors import ledger_problems
from grants.states import State
from tests.helpers import pay_payable_tranches, write_completion_report

from .support import Kind, balance_totals

pytestmark = pytest.mark.django_db


def statuses(application: GrantApplication) -> list[tuple[int, str, Decimal]]:
    return list(application.tranches.order_by("number").values_list("number", "status", "amount"))


def accepted(money, application: GrantApplication, *, spent_share: Decimal) -> GrantApplication:
    """Walk a 30,000 grant (50/40/10) through the mid-term, pay, report `spent_share` of each line, accept."""
    money.walk(application, State.IN_PROGRESS)
    money.walk(application, State.PROGRESS_REVIEW)
    money.walk(application, State.IN_PROGRESS)
    pay_payable_tranches(application, money.cast.finance)
    spent = {line.pk: (line.amount * spent_share).quantize(Decimal("0.01")) for line in application.budget_lines.all()}
    write_completion_report(application, money.applicant_of(application), spent=spent, explanation="按实际支出")
    money.walk(application, State.CLOSING)
    application.refresh_from_db()
    return application


@pytest.fixture
def grant(money):
    money.donate("100000.00")
    return money.approved("30000.00")


def test_spending_everything_pays_the_final_tranche_in_full(money, grant):
    application = accepted(money, grant, spent_share=Decimal(1))

    assert statuses(application) == [(1, "paid", Decimal("15000.00")), (2, "paid", Decimal("12000.00")),
                                     (3, "payable", Decimal("3000.00"))]
    pay_payable_tranches(application, money.cast.finance)
    services.application_close(actor=money.cast.finance, application=application)
    assert application.status == State.CLOSED
    assert not application.ledger_entries.filter(kind__in=[Kind.REFUND_RECEIVED, Kind.TRANSFER_OUT]).exists()


def test_the_final_tranche_shrinks_to_what_was_spent_and_the_rest_goes_back_to_the_fund(money, grant):
    available_before_acceptance = None

    application = accepted(money, grant, spent_share=Decimal("0.95"))  # 28,500 spent of 30,000
    available_before_acceptance = balance_totals(money.fund)["available"]

    assert statuses(application) == [(1, "paid", Decimal("15000.00")), (2, "paid", Decimal("12000.00")),
                                     (3, "payable", Decimal("1500.00"))]
    released = application.ledger_entries.get(kind=Kind.COMMITMENT_RELEASED)
    assert released.amount == Decimal("1500.00")
    assert available_before_acceptance == Decimal("100000.00") - Decimal("30000.00") + Decimal("1500.00")
    assert ledger_problems(money.fund) == []


def test_money_paid_but_not_spent_must_be_settled_before_closing(money, grant):
    application = accepted(money, grant, spent_share=Decimal("0.5"))  # 15,000 spent; 27,000 were paid

    assert statuses(application)[2][1] == Tranche.Status.VOID
    assert services.unspent_money(application) == Decimal("12000.00")
    with pytest.raises(ApplicationError) as refused:
        services.application_close(actor=money.cast.finance, application=application)
    assert refused.value.code == "unspent_money_unsettled" and refused.value.field == "unspent_to"
    application.refresh_from_db()
    assert application.status == State.CLOSING

    before = balance_totals(money.fund)
    services.application_close(actor=money.cast.finance, application=application,
                               unspent_to=services.UnspentMoney.REFUND, reason="结余退回基金")
    assert application.status == State.CLOSED
    refund = application.ledger_entries.get(kind=Kind.REFUND_RECEIVED)
    assert refund.amount == Decimal("12000.00")
    assert balance_totals(money.fund)["available"] == before["available"] + Decimal("12000.00")
    assert services.unspent_money(application) == 0


def test_unspent_money_moves_to_a_similar_running_project_with_a_disclosed_reason(money, grant):
    similar = money.walk(money.approved("20000.00"), State.IN_PROGRESS)
    other_category = money.walk(money.approved("10000.00", category=money.children), State.IN_PROGRESS)
    application = accepted(money, grant, spent_share=Decimal("0.5"))
    before = balance_totals(money.fund)

    for target, code in ((other_category.pk, "transfer_target_invalid"), (application.pk, "transfer_target_invalid"),
                         ("nonsense", "transfer_target_missing")):
        with pytest.raises(ApplicationError) as refused:
            services.application_close(actor=money.cast.finance, application=application,
                                       unspent_to=services.UnspentMoney.TRANSFER, transfer_to=target, reason="同类项目")
        assert refused.value.code == code
    with pytest.raises(ApplicationError) as refused:
        services.application_close(actor=money.cast.finance, application=application,
                                   unspent_to=services.UnspentMoney.TRANSFER, transfer_to=similar.pk, reason=" ")
    assert refused.value.code == "reason_required"
    application.refresh_from_db()
    assert application.status == State.CLOSING

    services.application_close(actor=money.cast.finance, application=application,
                               unspent_to=services.UnspentMoney.TRANSFER, transfer_to=similar.pk,
                               reason="结余用于同街道助餐项目")
    transfer = application.ledger_entries.get(kind=Kind.TRANSFER_OUT)
    assert transfer.amount == Decimal("12000.00")
    assert f"#{similar.pk}" in transfer.memo and "结余用于同街道助餐项目" in transfer.memo
    # The money stays with the projects: a transfer is disclosed, it moves no balance of the fund.
    assert balance_totals(money.fund) == before
    assert ledger_problems(money.fund) == []


def test_spending_beyond_the_approved_amount_is_refused(money, grant):
    money.walk(grant, State.IN_PROGRESS)
    line = grant.budget_lines.first()
    write_completion_report(grant, money.cast.applicant, spent={line.pk: line.amount + Decimal("5000.00")},
                            explanation="物价上涨")
    money.walk(grant, State.PROGRESS_REVIEW)
    money.walk(grant, State.IN_PROGRESS)
    with pytest.raises(ApplicationError) as refused:
        services.completion_report_submit(actor=money.cast.applicant, application=grant)
    assert refused.value.code == "completion_report_incomplete"
    grant.refresh_from_db()
    assert grant.status == State.IN_PROGRESS
