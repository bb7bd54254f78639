"""Races for the same money on PostgreSQL: two approvals for the last yuan, two payments of one tranche.

Each race runs two threads, each on its own database connection, released together by a Barrier. To make
sure they really meet at the critical point (and not one after the other), the main thread holds the row
they must lock (the fund's balance row, or the tranche) until both are waiting for it, then lets go.
Each race is run five times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection, transaction

from grants import services
from grants.errors import ApplicationConflict, ApplicationError
from grants.models import FundBalance, GrantApplication, LedgerEntry, Role, Tranche
from grants.selectors import ledger_problems
from grants.states import State
from tests.factories import UserFactory

from .support import Kind, balance_totals

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 5


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waiting(pids: list[int]) -> int:
    """How many of these connections are waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)", [pids])
        return cursor.fetchone()[0]


@contextmanager
def holding(rows) -> None:
    """Lock `rows` (a queryset) in the main thread's connection until the block ends."""
    with transaction.atomic():
        list(rows.select_for_update())
        yield


def race(calls: list[Callable[[], object]], *, gate=None) -> list[Outcome]:
    """Run the calls in threads at the same moment; with `gate`, hold those rows until all of them wait."""
    outcomes = [Outcome() for _ in calls]
    pids: list[int] = [0] * len(calls)
    ready = threading.Barrier(len(calls) + 1)
    go = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            pids[index] = backend_pid()
            ready.wait(timeout=20)
            go.wait(timeout=20)
            outcomes[index].value = call()
        except BaseException as exc:  # reported by the test, never swallowed
            outcomes[index].error = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, call), daemon=True) for n, call in enumerate(calls)]

    def start_and_wait_until_blocked() -> None:
        for thread in threads:
            thread.start()
        ready.wait(timeout=20)
        if gate is None:
            return
        deadline = time.monotonic() + 20
        while waiting(pids) < len(calls) and time.monotonic() < deadline:
            time.sleep(0.01)  # polling another connection's progress, not waiting for time to pass

    if gate is None:
        start_and_wait_until_blocked()
    else:
        with holding(gate):
            start_and_wait_until_blocked()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return outcomes


def winner_and_loser(outcomes: list[Outcome]) -> tuple[Outcome, Outcome]:
    won = [o for o in outcomes if o.error is None]
    lost = [o for o in outcomes if o.error is not None]
    assert len(won) == 1 and len(lost) == 1, outcomes
    return won[0], lost[0]


@pytest.fixture
def second_secretary_general(cast):
    return UserFactory(username="secretary_general_2", roles=[(Role.SECRETARY_GENERAL, cast.foundation)])


@pytest.fixture
def second_finance(cast):
    return UserFactory(username="finance_2", roles=[(Role.FINANCE, cast.foundation)])


def test_two_approvals_racing_for_the_last_money_commit_only_one(money, second_secretary_general):
    deciders = [money.cast.secretary_general, second_secretary_general]
    for round_ in range(ROUNDS):
        # Odd rounds: the money is a restricted gift both grants match; even rounds: pooled money.
        category = money.elder_care if round_ % 2 else None
        money.donate("30000.00", category=category)
        applications = [money.at_approval("30000.00") for _ in deciders]
        entries_before = LedgerEntry.objects.filter(fund=money.fund).count()

        outcomes = race([lambda app=app, who=who: services.application_approve(actor=who, application=app)
                         for app, who in zip(applications, deciders, strict=True)],
                        gate=FundBalance.objects.filter(fund=money.fund))

        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, ApplicationConflict), lost.error
        assert lost.error.code == "insufficient_funds"
        states = sorted(GrantApplication.objects.filter(pk__in=[a.pk for a in applications])
                        .values_list("status", flat=True))
        assert states == sorted([State.APPROVAL, State.PUBLICITY])
        new = LedgerEntry.objects.filter(fund=money.fund).order_by("seq")[entries_before:]
        assert [(e.kind, e.amount, e.application_id) for e in new] == [
            (Kind.COMMITMENT, Decimal("30000.00"), won.value.pk)]
        loser = next(a for a in applications if a.pk != won.value.pk)
        assert not Tranche.objects.filter(application=loser).exists()
        assert balance_totals(money.fund)["available"] == Decimal("0.00")
        assert ledger_problems(money.fund) == []


def test_one_application_approved_twice_at_once_is_committed_once(money, second_secretary_general):
    money.donate("1000000.00")
    for _round in range(ROUNDS):
        application = money.at_approval("30000.00")
        copies = [GrantApplication.objects.get(pk=application.pk) for _ in range(2)]
        deciders = [money.cast.secretary_general, second_secretary_general]

        outcomes = race([lambda app=app, who=who: services.application_approve(actor=who, application=app)
                         for app, who in zip(copies, deciders, strict=True)],
                        gate=GrantApplication.objects.filter(pk=application.pk))

        _won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, ApplicationConflict), lost.error
        assert application.ledger_entries.filter(kind=Kind.COMMITMENT).count() == 1
        assert application.tranches.count() == 3
        assert application.audit_entries.filter(action="approve").count() == 1
    assert ledger_problems(money.fund) == []


@pytest.fixture
def payable_grant(money):
    """A new 30,000 grant in progress each time it is called, its first tranche (15,000) payable."""
    money.donate("1000000.00")

    def make() -> Tranche:
        application = money.walk(money.approved("30000.00"), State.IN_PROGRESS)
        return application.tranches.get(number=1)

    return make


def test_two_payments_of_one_tranche_with_different_references_pay_once(money, payable_grant, second_finance):
    payers = [money.cast.finance, second_finance]
    for round_ in range(ROUNDS):
        tranche = payable_grant()
        paid_before = balance_totals(money.fund)["paid_total"]
        references = [f"BOC-{round_}-A", f"BOC-{round_}-B"]

        outcomes = race([lambda who=who, ref=ref, pk=tranche.pk: services.tranche_pay(
                            actor=who, tranche=Tranche.objects.get(pk=pk), bank_reference=ref)
                         for who, ref in zip(payers, references, strict=True)],
                        gate=Tranche.objects.filter(pk=tranche.pk))

        won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, ApplicationConflict), lost.error
        assert lost.error.code == "already_paid"
        tranche.refresh_from_db()
        assert tranche.status == Tranche.Status.PAID
        assert tranche.bank_reference == won.value.bank_reference
        assert list(tranche.ledger_entries.values_list("kind", "amount")) == [(Kind.TRANCHE_PAID,
                                                                               Decimal("15000.00"))]
        assert balance_totals(money.fund)["paid_total"] - paid_before == Decimal("15000.00")
    assert ledger_problems(money.fund) == []


def test_two_payments_of_one_tranche_with_the_same_reference_pay_once(money, payable_grant, second_finance):
    payers = [money.cast.finance, second_finance]
    for round_ in range(ROUNDS):
        tranche = payable_grant()
        reference = f"BOC-{round_}"

        outcomes = race([lambda who=who, pk=tranche.pk, ref=reference: services.tranche_pay(
                            actor=who, tranche=Tranche.objects.get(pk=pk), bank_reference=ref)
                         for who in payers],
                        gate=Tranche.objects.filter(pk=tranche.pk))

        assert [o.error for o in outcomes] == [None, None]
        assert [o.value.pk for o in outcomes] == [tranche.pk, tranche.pk]
        assert {o.value.status for o in outcomes} == {Tranche.Status.PAID}
        assert tranche.ledger_entries.filter(kind=Kind.TRANCHE_PAID).count() == 1
    assert ledger_problems(money.fund) == []


def test_two_refunds_racing_cannot_return_more_than_was_paid(money, payable_grant, second_finance):
    payers = [money.cast.finance, second_finance]
    for round_ in range(ROUNDS):
        tranche = payable_grant()
        services.tranche_pay(actor=money.cast.finance, tranche=tranche, bank_reference=f"BOC-{round_}")
        application = tranche.application

        outcomes = race([lambda who=who, pk=application.pk: services.refund_receive(
                            actor=who, application=GrantApplication.objects.get(pk=pk),
                            amount="15000.00", memo="结余退回")
                         for who in payers],
                        gate=FundBalance.objects.filter(fund=money.fund))

        returned = sum(application.ledger_entries.filter(kind=Kind.REFUND_RECEIVED).values_list("amount",
                                                                                               flat=True))
        assert returned <= Decimal("15000.00"), f"round {round_}: {returned} returned of 15000.00 paid"
        _won, lost = winner_and_loser(outcomes)
        assert isinstance(lost.error, ApplicationError) and lost.error.code == "refund_too_large", lost.error


def test_a_payment_racing_a_cancellation_leaves_consistent_money_and_a_clear_answer(money, payable_grant):
    """Either the tranche is paid and then reclaimed, or the grant is cancelled and the payment refused."""
    for round_ in range(ROUNDS):
        tranche = payable_grant()
        application = tranche.application

        outcomes = race([
            lambda pk=tranche.pk, ref=f"BOC-{round_}": services.tranche_pay(
                actor=money.cast.finance, tranche=Tranche.objects.get(pk=pk), bank_reference=ref),
            lambda pk=application.pk: services.application_cancel(
                actor=money.cast.secretary_general, application=GrantApplication.objects.get(pk=pk),
                reason="项目终止"),
        ], gate=FundBalance.objects.filter(fund=money.fund))

        errors = {call: o.error for call, o in zip(("payment", "cancellation"), outcomes, strict=True) if o.error}
        assert all(isinstance(error, ApplicationError) for error in errors.values()), f"round {round_}: {errors!r}"
        tranche.refresh_from_db()
        paid = tranche.status == Tranche.Status.PAID
        kinds = list(application.ledger_entries.exclude(kind=Kind.COMMITMENT).order_by("seq")
                     .values_list("kind", "amount"))
        if outcomes[1].error is None:  # cancelled
            assert kinds == ([(Kind.TRANCHE_PAID, Decimal("15000.00")),
                              (Kind.COMMITMENT_RELEASED, Decimal("15000.00")),
                              (Kind.MONEY_RECLAIMED, Decimal("15000.00"))] if paid
                             else [(Kind.COMMITMENT_RELEASED, Decimal("30000.00"))]), round_
        assert ledger_problems(money.fund) == []
