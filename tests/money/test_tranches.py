"""Paying tranches (once, idempotently, by finance who did not approve) and taking money back from projects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants import services
from grants.errors import ActionForbidden, ApplicationConflict, ApplicationError
from grants.models import Role, Tranche
from grants.permissions import may_pay
from grants.selectors import application_money, ledger_problems
from grants.states import State
from tests.factories import UserFactory

from .support import Kind, balance_totals, fund_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(money):
    """A 30,000 grant in progress (50/40/10): tranche 1 (15,000) payable, tranches 2 and 3 planned."""
    money.donate("100000.00")
    return money.walk(money.approved("30000.00"), State.IN_PROGRESS)


def tranche(application, number: int) -> Tranche:
    return application.tranches.get(number=number)


def paid_entries(application) -> list[tuple[int, Decimal]]:
    return list(application.ledger_entries.filter(kind=Kind.TRANCHE_PAID).values_list("tranche__number", "amount"))


def test_a_payable_tranche_is_paid_once_with_its_bank_reference(money, grant):
    before = balance_totals(money.fund)

    paid = services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference=" BOC-001 ")

    paid.refresh_from_db()
    assert (paid.status, paid.bank_reference, paid.paid_by) == (Tranche.Status.PAID, "BOC-001", money.cast.finance)
    assert paid.paid_at is not None
    assert paid_entries(grant) == [(1, Decimal("15000.00"))]
    after = balance_totals(money.fund)
    assert after["paid_total"] - before["paid_total"] == Decimal("15000.00")
    assert after["available"] == before["available"]  # the approval already took it out of what is available
    assert ledger_problems(money.fund) == []


def test_a_retry_with_the_same_bank_reference_returns_the_same_payment(money, grant):
    first = services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")
    before = fund_state(money.fund, grant)

    again = services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")

    assert again.pk == first.pk
    assert again.status == Tranche.Status.PAID
    assert fund_state(money.fund, grant) == before
    assert paid_entries(grant) == [(1, Decimal("15000.00"))]


def test_another_bank_reference_for_a_paid_tranche_is_refused(money, grant):
    services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")
    before = fund_state(money.fund, grant)

    with pytest.raises(ApplicationConflict) as caught:
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-002")

    assert caught.value.code == "already_paid"
    assert "BOC-001" in caught.value.message
    assert fund_state(money.fund, grant) == before


def test_a_bank_reference_already_used_for_another_tranche_is_refused(money, grant):
    other = money.walk(money.approved("20000.00"), State.IN_PROGRESS)
    services.tranche_pay(actor=money.cast.finance, tranche=tranche(other, 1), bank_reference="BOC-001")
    before = fund_state(money.fund, grant, other)

    with pytest.raises(ApplicationConflict) as caught:
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")

    assert (caught.value.code, caught.value.field) == ("duplicate_bank_reference", "bank_reference")
    assert fund_state(money.fund, grant, other) == before
    assert tranche(grant, 1).status == Tranche.Status.PAYABLE
    services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-002")
    assert paid_entries(grant) == [(1, Decimal("15000.00"))]


def test_a_bank_reference_of_an_earlier_tranche_of_the_same_grant_is_refused(money, grant):
    services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")
    money.walk(grant, State.PROGRESS_REVIEW)
    services.progress_report_review(actor=money.cast.programme_officer, application=grant, accept=True, comment="通过")

    with pytest.raises(ApplicationConflict) as caught:
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 2), bank_reference="BOC-001")

    assert caught.value.code == "duplicate_bank_reference"
    assert tranche(grant, 2).status == Tranche.Status.PAYABLE


def test_a_blank_bank_reference_is_refused(money, grant):
    with pytest.raises(ApplicationError) as caught:
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="  ")

    assert (caught.value.code, caught.value.field) == ("reason_required", "bank_reference")
    assert tranche(grant, 1).status == Tranche.Status.PAYABLE


def test_finance_who_signed_the_approval_may_not_pay_it(money, dual):
    money.donate("100000.00")
    application = money.at_approval("30000.00")
    money.approve(application, actor=dual.secretary_finance)
    money.walk(application, State.IN_PROGRESS)
    before = fund_state(money.fund, application)

    assert may_pay(dual.secretary_finance, application)
    with pytest.raises(ActionForbidden) as caught:
        services.tranche_pay(actor=dual.secretary_finance, tranche=tranche(application, 1), bank_reference="BOC-1")

    assert caught.value.code == "forbidden"
    assert fund_state(money.fund, application) == before
    assert may_pay(money.cast.finance, application) is None  # any other finance person may
    services.tranche_pay(actor=money.cast.finance, tranche=tranche(application, 1), bank_reference="BOC-1")


def test_finance_who_declared_a_conflict_may_not_pay(money, grant):
    services.conflict_declare(actor=money.cast.finance, application=grant, reason="项目负责人是我的亲属")

    with pytest.raises(ActionForbidden):
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")

    assert tranche(grant, 1).status == Tranche.Status.PAYABLE


@pytest.mark.parametrize("who", ["secretary_general", "programme_officer", "board_member", "auditor", "applicant",
                                 "street_reviewer", "outsider"])
def test_only_finance_may_pay(money, grant, who):
    person = getattr(money.cast, who)
    before = fund_state(money.fund, grant)

    assert may_pay(person, grant)
    with pytest.raises(ActionForbidden) as caught:
        services.tranche_pay(actor=person, tranche=tranche(grant, 1), bank_reference="BOC-001")

    assert caught.value.code == "forbidden"
    assert fund_state(money.fund, grant) == before


def test_finance_of_another_foundation_may_not_pay(money, grant):
    from tests.factories import FoundationFactory

    stranger = UserFactory(username="finance_elsewhere", roles=[(Role.FINANCE, FoundationFactory())])

    with pytest.raises(ActionForbidden):
        services.tranche_pay(actor=stranger, tranche=tranche(grant, 1), bank_reference="BOC-001")


@pytest.mark.parametrize("number", [2, 3])
def test_a_planned_tranche_is_refused(money, grant, number):
    before = fund_state(money.fund, grant)

    with pytest.raises(ApplicationError) as caught:
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, number), bank_reference="BOC-001")

    assert caught.value.code == "not_payable"
    assert fund_state(money.fund, grant) == before


def test_a_void_tranche_is_refused(money, grant):
    services.application_cancel(actor=money.cast.secretary_general, application=grant, reason="项目无法实施")

    with pytest.raises(ApplicationError) as caught:
        services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")

    assert caught.value.code == "not_payable"
    assert paid_entries(grant) == []


# --- Refunds ----------------------------------------------------------------------------------------------------

@pytest.fixture
def paid_grant(money, grant):
    """The grant with its first tranche (15,000) paid."""
    services.tranche_pay(actor=money.cast.finance, tranche=tranche(grant, 1), bank_reference="BOC-001")
    return grant


def refund(money, application, amount: str):
    return services.refund_receive(actor=money.cast.finance, application=application, amount=amount,
                                   memo="结余退回")


def test_a_refund_increases_what_is_available(money, paid_grant):
    before = balance_totals(money.fund)

    entry = refund(money, paid_grant, "5000.00")

    assert (entry.kind, entry.amount, entry.application_id) == (Kind.REFUND_RECEIVED, Decimal("5000.00"),
                                                                paid_grant.pk)
    after = balance_totals(money.fund)
    assert after["available"] - before["available"] == Decimal("5000.00")
    assert after["returned_total"] - before["returned_total"] == Decimal("5000.00")
    assert application_money(paid_grant)["returned"] == Decimal("5000.00")
    assert ledger_problems(money.fund) == []


def test_refunds_cannot_exceed_what_was_paid(money, paid_grant):
    refund(money, paid_grant, "5000.00")
    before = fund_state(money.fund, paid_grant)

    with pytest.raises(ApplicationError) as caught:
        refund(money, paid_grant, "10000.01")

    assert (caught.value.code, caught.value.field) == ("refund_too_large", "amount")
    assert fund_state(money.fund, paid_grant) == before
    refund(money, paid_grant, "10000.00")
    with pytest.raises(ApplicationError) as caught:
        refund(money, paid_grant, "0.01")
    assert caught.value.code == "refund_too_large"


def test_a_grant_that_was_never_paid_cannot_refund(money, grant):
    with pytest.raises(ApplicationError) as caught:
        refund(money, grant, "1.00")

    assert caught.value.code == "refund_too_large"
    assert not grant.ledger_entries.filter(kind=Kind.REFUND_RECEIVED).exists()


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.001", "abc", "NaN"])
def test_a_refund_must_be_a_positive_amount_in_fen(money, paid_grant, amount):
    with pytest.raises(ApplicationError) as caught:
        refund(money, paid_grant, amount)

    assert caught.value.code == "invalid_amount"


def test_only_finance_records_a_refund(money, paid_grant):
    with pytest.raises(ActionForbidden):
        services.refund_receive(actor=money.cast.secretary_general, application=paid_grant, amount="1.00",
                                memo="退回")


def test_a_refund_after_cancellation_settles_the_money_to_reclaim(money, paid_grant):
    services.application_cancel(actor=money.cast.secretary_general, application=paid_grant, reason="挪用资金")
    assert application_money(paid_grant)["to_reclaim"] == Decimal("15000.00")

    refund(money, paid_grant, "15000.00")

    assert application_money(paid_grant)["to_reclaim"] == Decimal("0.00")
    assert balance_totals(money.fund)["available"] == Decimal("100000.00")
    assert ledger_problems(money.fund) == []
