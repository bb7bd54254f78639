"""Whatever finance and the foundation do, in any order, the fund's money adds up and restricted money stays put.

One hypothesis state machine mixes donations (pooled or restricted to a category and/or community), approvals
of a pool of applications waiting at `approval`, the project's milestones, tranche payments (with retries and
reused bank references), cancellations, objections, withdrawals, refunds and management fees. After every step:

1. the balance row equals a recomputation from scratch over all entries, and the last entry's running totals;
2. nothing ever shows a negative `available`;
3. each paid tranche has exactly one TRANCHE_PAID entry, and nothing else is paid;
4. restricted money is drawn only for matching grants, and never beyond its donation;
5. each grant's net commitment is what its state says (approved amount, what was paid, or nothing);
6. `ledger_problems` finds nothing.
Each example runs inside a savepoint that is rolled back, so every example starts from the same pool.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Q, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from grants import services
from grants.errors import ApplicationError
from grants.models import Donation, Fund, FundBalance, GrantApplication, LedgerEntry, Objection, Tranche
from grants.selectors import ledger_problems
from grants.services.ledger import TOTALS
from grants.states import CANCELLABLE_STATES, State
from tests.helpers import end_publicity_by_timer, write_completion_report

from .support import ZERO, Kind, balance_totals, entry_totals, fund_state, recompute

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
FIRST_DAY = dt.date(2026, 9, 1)
# The applications waiting at approval: (recommended amount, category, community).
POOL = (
    ("30000.00", "elder_care", "a1"),
    ("33333.33", "children", "a2"),
    ("12345.67", "elder_care", "a2"),
    ("50000.00", "children", "a1"),
    ("8000.01", "elder_care", "a1"),
    ("99999.99", "children", "a2"),
    ("20000.00", "elder_care", "a2"),
    ("4500.50", "children", "a1"),
)
RESTRICTIONS = ((None, None), (None, None), ("elder_care", None), ("children", None), (None, "a1"), (None, "a2"),
                ("elder_care", "a2"), ("children", "a1"))
APPROVED_STATES = {State.PUBLICITY, State.OBJECTION, State.AGREEMENT, State.IN_PROGRESS, State.PROGRESS_REVIEW,
                   State.COMPLETION_VERIFICATION, State.COMPLETION_ACCEPTANCE, State.REPORT_RETURNED,
                   State.CLOSING, State.CLOSED}

yuan = st.integers(min_value=1, max_value=12_000_000).map(lambda cents: (Decimal(cents) * CENT).quantize(CENT))
# Gifts: any amount in fen, or one of the sizes that let a grant or two through.
gifts = st.one_of(yuan, st.sampled_from([Decimal("20000.00"), Decimal("50000.00"), Decimal("100000.00")]))


def matches(donation: Donation, application: GrantApplication) -> bool:
    """The donor's restriction, read from the domain rule: same category and community where one is named."""
    return ((donation.restricted_category_id is None or donation.restricted_category_id == application.category_id)
            and (donation.restricted_community_id is None
                 or donation.restricted_community_id == application.community_id))


class FundMachine(RuleBasedStateMachine):
    """The fund of `money` and its pool of applications (set on a subclass by the test)."""

    money = None
    pool_ids: tuple[int, ...] = ()
    seen: set[str]  # the kinds of entry any example posted, so that a run that explored nothing fails

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.fund = self.money.fund
        self.cast = self.money.cast
        self.references = (f"BANK-{n:04d}" for n in itertools.count(1))
        self.used_references: list[str] = []
        self.states: dict[int, str] = {}
        self._read_states()

    def teardown(self) -> None:
        self.seen.update(LedgerEntry.objects.filter(fund=self.fund).values_list("kind", flat=True))
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- what the machine knows between steps ---------------------------------------------------------------

    def _read_states(self) -> None:
        """The pool's states and tranches, read once per step (the preconditions and invariants use them)."""
        self.applications = {pk: (status, approved) for pk, status, approved in GrantApplication.objects.filter(
            pk__in=self.pool_ids).values_list("pk", "status", "approved_amount")}
        self.states = {pk: status for pk, (status, _approved) in self.applications.items()}
        self.tranches = list(Tranche.objects.filter(application__in=self.pool_ids).values_list(
            "pk", "application_id", "status", "amount"))
        self.payable = [pk for pk, _app, status, _amount in self.tranches if status == Tranche.Status.PAYABLE]
        self.paid = [pk for pk, _app, status, _amount in self.tranches if status == Tranche.Status.PAID]

    def _in(self, *states: str) -> list[int]:
        return sorted(pk for pk, status in self.states.items() if status in states)

    def _app(self, pk: int) -> GrantApplication:
        return GrantApplication.objects.select_related("fund").get(pk=pk)

    def _restricted_left(self) -> dict[Donation, Decimal]:
        """Each received restricted donation (oldest first) and what it still holds, summed from the ledger here."""
        donations = list(Donation.objects.filter(fund=self.fund, status=Donation.Status.RECEIVED).filter(
            Q(restricted_category__isnull=False) | Q(restricted_community__isnull=False)).order_by("received_on",
                                                                                                  "pk"))
        drawn = dict(LedgerEntry.objects.filter(donation__in=donations).values("donation_id").annotate(
            net=Sum("amount", filter=Q(kind=Kind.COMMITMENT), default=ZERO)
            - Sum("amount", filter=Q(kind=Kind.COMMITMENT_RELEASED), default=ZERO)).values_list("donation_id", "net"))
        return {donation: donation.amount - drawn.get(donation.pk, ZERO) for donation in donations}

    def _expect_refused(self, code: str, action, *applications: GrantApplication) -> None:
        before = fund_state(self.fund, *applications)
        with pytest.raises(ApplicationError) as caught:
            action()
        assert caught.value.code == code, caught.value.message
        assert fund_state(self.fund, *applications) == before

    # --- money coming in and going to the foundation ----------------------------------------------------------

    @initialize(amount=st.sampled_from(["250000.00", "400000.00", "60000.00", "0"]))
    def founding_gift(self, amount: str) -> None:
        """Most examples start with pooled money, so that approvals and what follows them are explored."""
        if Decimal(amount):
            services.donation_record(actor=self.cast.finance, fund=self.fund, amount=Decimal(amount),
                                     received_on=FIRST_DAY)

    @rule(amount=gifts, restriction=st.sampled_from(RESTRICTIONS), day=st.integers(min_value=0, max_value=30))
    def donate(self, amount: Decimal, restriction: tuple[str | None, str | None], day: int) -> None:
        category, community = restriction
        services.donation_record(
            actor=self.cast.finance, fund=self.fund, amount=amount,
            restricted_category=getattr(self.money, category) if category else None,
            restricted_community=getattr(self.cast, community) if community else None,
            received_on=FIRST_DAY + dt.timedelta(days=day))

    @rule(amount=yuan)
    def charge_fee(self, amount: Decimal) -> None:
        available = balance_totals(self.fund)["available"]
        charge = lambda: services.management_fee_charge(  # noqa: E731
            actor=self.cast.finance, fund=self.fund, amount=amount, memo="管理费")
        if amount > available:
            self._expect_refused("insufficient_funds", charge)
        else:
            charge()

    # --- approval --------------------------------------------------------------------------------------------

    @precondition(lambda self: self._in(State.APPROVAL))
    @rule(data=st.data())
    def approve(self, data) -> None:
        application = self._app(data.draw(st.sampled_from(self._in(State.APPROVAL)), label="application"))
        amount = application.approved_amount
        left = self._restricted_left()
        available = balance_totals(self.fund)["available"]
        pooled = available - sum(left.values(), ZERO)
        matching = [(donation, rest) for donation, rest in left.items() if rest > 0 and matches(donation, application)]
        capacity = min(available, sum((rest for _d, rest in matching), ZERO) + max(pooled, ZERO))
        approve = lambda: services.application_approve(  # noqa: E731
            actor=self.cast.secretary_general, application=application)
        if amount > capacity:
            self._expect_refused("insufficient_funds", approve, application)
            return
        approve()
        expected, needed = [], amount
        for donation, rest in matching:  # oldest first
            if needed <= 0:
                break
            expected.append((donation.pk, min(needed, rest)))
            needed -= min(needed, rest)
        if needed > 0:
            expected.append((None, needed))
        assert list(application.ledger_entries.filter(kind=Kind.COMMITMENT).order_by("seq")
                    .values_list("donation_id", "amount")) == expected

    # --- publicity, agreement and the project's milestones ------------------------------------------------------

    @precondition(lambda self: self._in(State.PUBLICITY, State.AGREEMENT))
    @rule(data=st.data(), pay_now=st.booleans())
    def sign_agreement(self, data, pay_now: bool) -> None:
        """Publicity runs out and the agreement is signed; finance may pay the first tranche straight away."""
        application = self._app(data.draw(st.sampled_from(self._in(State.PUBLICITY, State.AGREEMENT))))
        if application.status == State.PUBLICITY:
            end_publicity_by_timer(application)
        services.agreement_sign(actor=self.cast.secretary_general, application=application)
        if pay_now:
            for tranche in application.tranches.filter(status=Tranche.Status.PAYABLE):
                self._pay(tranche, "once", data)

    @precondition(lambda self: self._in(State.PUBLICITY))
    @rule(data=st.data(), uphold=st.booleans())
    def objection(self, data, uphold: bool) -> None:
        application = self._app(data.draw(st.sampled_from(self._in(State.PUBLICITY))))
        objection = services.objection_file(application=application, text="预算偏高")
        services.objection_decide(actor=self.cast.secretary_general, objection=objection, uphold=uphold,
                                  reason="经核实")
        assert Objection.objects.get(pk=objection.pk).decision == (
            Objection.Decision.UPHELD if uphold else Objection.Decision.DISMISSED)

    @precondition(lambda self: self._in(State.IN_PROGRESS))
    @rule(data=st.data())
    def reach_milestone(self, data) -> None:
        """The mid-term review when one is owed and not yet accepted, else completion accepted."""
        application = self._app(data.draw(st.sampled_from(self._in(State.IN_PROGRESS))))
        applicant = self.money.applicant_of(application)
        if application.midterm_required and application.midterm_accepted_at is None:
            services.progress_report_submit(actor=applicant, application=application, progress="中期进展")
            services.progress_report_review(actor=self.cast.programme_officer, application=application, accept=True,
                                    comment="通过")
            return
        # Spending anywhere from nothing to the whole budget: the final tranche shrinks, unspent money is returned.
        share = data.draw(st.sampled_from([Decimal(1), Decimal("0.95"), Decimal("0.5"), Decimal(0)]), label="spent")
        spent = {line.pk: (line.amount * share).quantize(Decimal("0.01")) for line in application.budget_lines.all()}
        write_completion_report(application, applicant, spent=spent, explanation="按实际支出结算")
        services.completion_report_submit(actor=applicant, application=application)
        services.completion_verify(actor=self.cast.street_reviewer, application=application)
        services.completion_accept(actor=self.cast.programme_officer, application=application)

    @precondition(lambda self: self._in(State.CLOSING))
    @rule(data=st.data())
    def close(self, data) -> None:
        application = self._app(data.draw(st.sampled_from(self._in(State.CLOSING))))
        close = lambda: services.application_close(  # noqa: E731
            actor=self.cast.finance, application=application, unspent_to=services.UnspentMoney.REFUND,
            reason="结余退回")
        if application.tranches.exclude(status__in=[Tranche.Status.PAID, Tranche.Status.VOID]).exists():
            self._expect_refused("money_unsettled", close, application)
        else:
            close()

    # --- payments ------------------------------------------------------------------------------------------------

    @precondition(lambda self: self.payable)
    @rule(data=st.data(), how=st.sampled_from(["once", "retry", "other_reference_after", "used_reference"]))
    def pay(self, data, how: str) -> None:
        self._pay(Tranche.objects.get(pk=data.draw(st.sampled_from(self.payable), label="tranche")), how, data)

    def _pay(self, tranche: Tranche, how: str, data) -> None:
        """Pay once; then maybe retry it, or try another reference; or first try a reference already used."""
        application = tranche.application
        pay = lambda reference: services.tranche_pay(  # noqa: E731
            actor=self.cast.finance, tranche=tranche, bank_reference=reference)
        if how == "used_reference" and self.used_references:
            reused = data.draw(st.sampled_from(self.used_references), label="reused reference")
            self._expect_refused("duplicate_bank_reference", lambda: pay(reused), application)
        reference = next(self.references)
        paid = pay(reference)
        self.used_references.append(reference)
        assert paid.pk == tranche.pk
        if how == "retry":
            before = fund_state(self.fund, application)
            assert pay(reference).pk == tranche.pk
            assert fund_state(self.fund, application) == before
        if how == "other_reference_after":
            self._expect_refused("already_paid", lambda: pay(next(self.references)), application)

    @precondition(lambda self: self.paid)
    @rule(data=st.data(), too_much=st.booleans())
    def refund(self, data, too_much: bool) -> None:
        application = Tranche.objects.get(pk=data.draw(st.sampled_from(self.paid), label="paid tranche")).application
        sums = application.ledger_entries.aggregate(
            paid=Sum("amount", filter=Q(kind=Kind.TRANCHE_PAID), default=ZERO),
            returned=Sum("amount", filter=Q(kind=Kind.REFUND_RECEIVED), default=ZERO))
        left = sums["paid"] - sums["returned"]
        give_back = lambda amount: services.refund_receive(  # noqa: E731
            actor=self.cast.finance, application=application, amount=amount, memo="结余退回")
        if too_much or left <= 0:
            self._expect_refused("refund_too_large", lambda: give_back(left + CENT), application)
            return
        cents = data.draw(st.integers(min_value=1, max_value=int(left / CENT)), label="refund (fen)")
        give_back((Decimal(cents) * CENT).quantize(CENT))

    # --- grants ending early -------------------------------------------------------------------------------------

    @precondition(lambda self: self._in(*CANCELLABLE_STATES))
    @rule(data=st.data())
    def cancel(self, data) -> None:
        application = self._app(data.draw(st.sampled_from(self._in(*CANCELLABLE_STATES))))
        paid = application.ledger_entries.filter(kind=Kind.TRANCHE_PAID).aggregate(
            total=Sum("amount", default=ZERO))["total"]
        services.application_cancel(actor=self.cast.secretary_general, application=application, reason="项目终止")
        reclaimed = list(application.ledger_entries.filter(kind=Kind.MONEY_RECLAIMED).values_list("amount",
                                                                                                  flat=True))
        assert reclaimed == ([paid] if paid else [])

    @precondition(lambda self: self._in(State.PUBLICITY, State.AGREEMENT))
    @rule(data=st.data())
    def withdraw(self, data) -> None:
        """Withdrawn after approval (before it there is no money to give back)."""
        application = self._app(data.draw(st.sampled_from(self._in(State.PUBLICITY, State.AGREEMENT))))
        services.application_withdraw(actor=self.money.applicant_of(application), application=application,
                                      reason="社区另有安排")

    # --- after every step ----------------------------------------------------------------------------------------

    @invariant()
    def money_adds_up(self) -> None:
        self._read_states()
        entries = list(LedgerEntry.objects.filter(fund=self.fund).select_related("donation", "application")
                       .order_by("seq"))
        balance = FundBalance.objects.filter(fund=self.fund).values(*TOTALS).first() or dict.fromkeys(TOTALS, ZERO)

        # 1. and 2.: totals from scratch, running totals, never below zero.
        assert balance == recompute(entries) == entry_totals(entries[-1] if entries else None)
        assert all(entry.available >= 0 for entry in entries)
        assert balance["available"] >= 0

        # 3. One payment entry per paid tranche, and the amounts agree.
        paid_entries = [e for e in entries if e.kind == Kind.TRANCHE_PAID]
        paid_tranches = {pk: amount for pk, _app, status, amount in self.tranches if status == Tranche.Status.PAID}
        assert sorted(e.tranche_id for e in paid_entries) == sorted(paid_tranches)
        assert all(e.amount == paid_tranches[e.tranche_id] for e in paid_entries)
        assert sum((e.amount for e in paid_entries), ZERO) == sum(paid_tranches.values(), ZERO)

        # 4. Restricted money: only for matching grants, never beyond the donation.
        drawn: dict[int, Decimal] = {}
        for entry in entries:
            if entry.donation_id is None or entry.kind not in (Kind.COMMITMENT, Kind.COMMITMENT_RELEASED):
                continue
            assert matches(entry.donation, entry.application), entry
            sign = 1 if entry.kind == Kind.COMMITMENT else -1
            drawn[entry.donation_id] = drawn.get(entry.donation_id, ZERO) + sign * entry.amount
            assert ZERO <= drawn[entry.donation_id] <= entry.donation.amount, entry

        # 5. Each grant's money is what its state says.
        sums: dict[tuple[int, str], Decimal] = {}
        for entry in entries:
            if entry.application_id is not None:
                key = (entry.application_id, entry.kind)
                sums[key] = sums.get(key, ZERO) + entry.amount
        scheduled: dict[int, Decimal] = {}
        for _pk, application_id, _status, amount in self.tranches:
            scheduled[application_id] = scheduled.get(application_id, ZERO) + amount
        live = {application_id for _pk, application_id, status, _amount in self.tranches
                if status != Tranche.Status.VOID}
        for pk, (status, approved) in self.applications.items():
            of = lambda kind: sums.get((pk, kind), ZERO)  # noqa: B023, E731
            committed, paid = of(Kind.COMMITMENT) - of(Kind.COMMITMENT_RELEASED), of(Kind.TRANCHE_PAID)
            assert of(Kind.REFUND_RECEIVED) <= paid
            if status in (State.CLOSING, State.CLOSED):
                # Accepted: the commitment shrank to what was spent (at most what the earlier tranches paid).
                kept = sum((amount for _pk, app_id, tranche_status, amount in self.tranches
                            if app_id == pk and tranche_status != Tranche.Status.VOID), ZERO)
                assert committed == kept <= approved, status
                if status == State.CLOSED:
                    assert paid - of(Kind.REFUND_RECEIVED) <= committed, status
            elif status in APPROVED_STATES:
                assert committed == approved == scheduled[pk], status
            elif status == State.CANCELLED:
                assert committed == paid == of(Kind.MONEY_RECLAIMED)
            else:  # waiting at approval, or withdrawn
                assert committed == ZERO, status
                assert pk not in live, status

        # 6. The ledger's own check.
        assert ledger_problems(self.fund) == []


def waiting_pool(money, rows=POOL) -> list[GrantApplication]:
    """The applications at approval; their tasks' reminders fall due long after any publicity ends.

    Publicity is ended by firing the due workflow timers: reminders of the waiting pool would otherwise be
    fired (and rolled back) again in every example, costing time for nothing this test looks at.
    """
    Fund.objects.filter(pk=money.fund.pk).update(service_time_working_days=200, escalation_working_days=250)
    return [money.at_approval(amount, category=getattr(money, category), community=getattr(money.cast, community))
            for amount, category, community in rows]


def test_the_money_adds_up_after_every_sequence_of_actions(money):
    pool = waiting_pool(money)
    machine = type("PoolFundMachine", (FundMachine,),
                   {"money": money, "pool_ids": tuple(a.pk for a in pool), "seen": set()})

    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))

    # Every example was rolled back: the pool is still waiting and the fund has no entry.
    assert set(GrantApplication.objects.filter(pk__in=[a.pk for a in pool]).values_list("status", flat=True)) == {
        State.APPROVAL}
    assert not LedgerEntry.objects.filter(fund=money.fund).exists()
    assert {Kind.DONATION_RECEIVED, Kind.COMMITMENT} <= machine.seen  # it explored beyond the gifts


@pytest.fixture
def machine(money):
    """One machine over three waiting applications, driven by hand (its savepoint rolled back at the end)."""
    pool = waiting_pool(money, POOL[:3])
    machine = type("PoolFundMachine", (FundMachine,),
                   {"money": money, "pool_ids": tuple(a.pk for a in pool), "seen": set()})()
    yield machine
    machine.teardown()


def test_the_invariants_hold_through_every_kind_of_entry(money, machine):
    """The checks are not vacuous: a scripted life of three grants passes them after each step."""
    cast = money.cast
    first, second, third = (GrantApplication.objects.get(pk=pk) for pk in machine.pool_ids)
    machine.founding_gift("250000.00")
    machine.donate(Decimal("5000.00"), ("elder_care", None), 3)
    machine.charge_fee(Decimal("1000.00"))
    steps = [
        *(lambda app=app: services.application_approve(actor=cast.secretary_general, application=app)
          for app in (first, second, third)),
        lambda: end_publicity_by_timer(first),  # ends the publicity of all three
        *(lambda app=app: services.agreement_sign(actor=cast.secretary_general,
                                                  application=GrantApplication.objects.get(pk=app.pk))
          for app in (first, second)),
        lambda: [services.tranche_pay(actor=cast.finance, tranche=tranche, bank_reference=f"B-{tranche.pk}")
                 for tranche in Tranche.objects.filter(application__in=[first, second],
                                                       status=Tranche.Status.PAYABLE)],
        lambda: services.refund_receive(actor=cast.finance, application=first, amount="100.00", memo="退回"),
        lambda: services.application_cancel(actor=cast.secretary_general, reason="终止",
                                            application=GrantApplication.objects.get(pk=second.pk)),
        lambda: services.application_withdraw(actor=money.applicant_of(third), reason="撤回",
                                              application=GrantApplication.objects.get(pk=third.pk)),
    ]
    for step in steps:
        step()
        machine.money_adds_up()

    kinds = set(LedgerEntry.objects.filter(fund=money.fund).values_list("kind", flat=True))
    assert kinds == set(Kind.values) - {Kind.TRANSFER_OUT}


def test_the_invariants_catch_a_balance_row_out_of_step(money, machine):
    machine.founding_gift("250000.00")
    machine.money_adds_up()

    FundBalance.objects.filter(fund=money.fund).update(available=Decimal("250000.01"))

    with pytest.raises(AssertionError):
        machine.money_adds_up()
