"""What a posting costs: the balance row locked in one statement, no savepoint inside the caller's transaction.

The guarantees stay: the fund's balance row is locked before anything is written, a refused posting changes
nothing (not even the caller's locked balance object), and an entry's totals and hash chain are those of the
balance it was posted on.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from grants import services
from grants.errors import ApplicationConflict, ApplicationError
from grants.models import FundBalance, LedgerEntry
from grants.services.ledger import ledger_post, lock_balance
from grants.services.settlement import unspent_money
from grants.states import State
from tests.helpers import pay_payable_tranches

from .support import Kind

pytestmark = pytest.mark.django_db


def sql_of(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0].upper() for query in captured.captured_queries]


def test_locking_an_existing_balance_row_is_one_statement(money, django_assert_num_queries):
    money.donate("1000.00")
    with transaction.atomic(), django_assert_num_queries(1):
        balance = lock_balance(money.fund)
    assert balance.available == Decimal("1000.00")


def test_a_fund_without_a_balance_row_gets_one_on_its_first_lock(money):
    FundBalance.objects.filter(fund=money.fund).delete()  # a fund made before balance rows came with funds
    with transaction.atomic():
        balance = lock_balance(money.fund)
    assert balance.available == 0 and FundBalance.objects.filter(fund=money.fund).count() == 1


def test_posting_on_a_locked_balance_writes_the_entry_and_the_balance_without_a_savepoint(money):
    money.donate("1000.00")
    with transaction.atomic():
        balance = lock_balance(money.fund)
        with CaptureQueriesContext(transaction.get_connection()) as captured:
            entry = ledger_post(fund=money.fund, kind=Kind.MANAGEMENT_FEE, amount=Decimal("10.00"),
                                actor=money.cast.finance, memo="fee", balance=balance)
    assert sql_of(captured) == ["INSERT", "UPDATE"]
    stored = FundBalance.objects.get(fund=money.fund)
    assert (stored.last_seq, stored.last_hash, stored.available) == (entry.seq, entry.hash, Decimal("990.00"))
    assert entry.available == Decimal("990.00") and entry.fees_total == Decimal("10.00")


def test_a_refused_posting_leaves_the_callers_balance_and_transaction_as_they_were(money):
    money.donate("100.00")
    with transaction.atomic():
        balance = lock_balance(money.fund)
        with pytest.raises(ApplicationConflict) as refused:
            ledger_post(fund=money.fund, kind=Kind.MANAGEMENT_FEE, amount=Decimal("100.01"),
                        actor=money.cast.finance, memo="too much", balance=balance)
        assert refused.value.code == "insufficient_funds"
        assert (balance.available, balance.fees_total, balance.last_seq) == (Decimal("100.00"), 0, 1)
        # The transaction goes on: nothing was written, so nothing needed undoing.
        ledger_post(fund=money.fund, kind=Kind.MANAGEMENT_FEE, amount=Decimal("100.00"), actor=money.cast.finance,
                    memo="all of it", balance=balance)
    assert FundBalance.objects.get(fund=money.fund).available == 0
    assert list(LedgerEntry.objects.filter(fund=money.fund).values_list("seq", "kind")) == [
        (1, Kind.DONATION_RECEIVED), (2, Kind.MANAGEMENT_FEE)]


def test_posting_without_a_locked_balance_locks_it_first(money):
    money.donate("50.00")
    entry = ledger_post(fund=money.fund, kind=Kind.MANAGEMENT_FEE, amount=Decimal("5.00"), actor=money.cast.finance,
                        memo="fee")
    assert entry.seq == 2 and FundBalance.objects.get(fund=money.fund).available == Decimal("45.00")


def test_an_approval_reads_the_balance_row_once(money):
    money.donate("100000.00")
    application = money.at_approval("20000.00")
    with CaptureQueriesContext(transaction.get_connection()) as captured:
        money.approve(application)
    locks = [q["sql"] for q in captured.captured_queries if "grants_fundbalance" in q["sql"] and
             q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(locks) == 1
    assert application.ledger_entries.get().amount == Decimal("20000.00")


def test_unspent_money_is_zero_without_reading_the_report_when_nothing_is_left_unsettled(
        money, django_assert_num_queries):
    money.donate("100000.00")
    application = money.walk(money.approved("20000.00"), State.AGREEMENT)
    with django_assert_num_queries(1):
        assert unspent_money(application) == 0


def test_a_refund_is_checked_against_what_was_paid_less_what_came_back(money):
    money.donate("100000.00")
    application = money.walk(money.approved("20000.00"), State.IN_PROGRESS)
    pay_payable_tranches(application, money.cast.finance)
    paid = application.ledger_entries.get(kind=Kind.TRANCHE_PAID).amount
    services.refund_receive(actor=money.cast.finance, application=application, amount=paid - 1, memo="back")
    with pytest.raises(ApplicationError) as too_much:
        services.refund_receive(actor=money.cast.finance, application=application, amount=Decimal("1.01"),
                                memo="more")
    assert too_much.value.code == "refund_too_large"
    services.refund_receive(actor=money.cast.finance, application=application, amount=Decimal("1.00"), memo="rest")
