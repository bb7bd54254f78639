"""Approval commits money (restricted first, then pooled), never more than is available; tranches; releases."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grants import services
from grants.errors import ApplicationConflict, ApplicationError
from grants.models import Fund, GrantApplication, LedgerEntry, Objection, Tranche
from grants.selectors import application_money, ledger_problems
from grants.services import restricted_available
from grants.services.money import _schedule
from grants.states import State
from tests.helpers import pay_payable_tranches

from .support import Kind, balance_totals, commitments, fund_state, releases

pytestmark = pytest.mark.django_db
Template = Fund.TrancheTemplate
PLANNED, PAYABLE, PAID, VOID = (Tranche.Status.PLANNED, Tranche.Status.PAYABLE, Tranche.Status.PAID,
                                Tranche.Status.VOID)
DAY = dt.date(2026, 10, 1)


def tranche_states(application) -> list[str]:
    return list(application.tranches.order_by("number").values_list("status", flat=True))


# --- Committing on approval -----------------------------------------------------------------------------------

def test_approval_commits_the_approved_amount_from_pooled_money(money):
    money.donate("100000.00")
    application = money.at_approval("40000.00", requested="50000.00")

    money.approve(application)

    assert application.status == State.PUBLICITY
    assert commitments(application) == [(None, Decimal("40000.00"))]
    assert balance_totals(money.fund)["committed_total"] == Decimal("40000.00")
    assert balance_totals(money.fund)["available"] == Decimal("60000.00")
    assert application_money(application)["committed"] == Decimal("40000.00")
    assert ledger_problems(money.fund) == []


def test_referral_to_the_board_commits_nothing_and_the_board_approval_commits(money):
    money.donate("200000.00")
    application = money.at_approval("150000.00")

    money.approve(application)
    assert application.status == State.BOARD_APPROVAL
    assert commitments(application) == []

    services.application_board_approve(actor=money.cast.board_member, application=application, minutes="纪要")
    assert commitments(application) == [(None, Decimal("150000.00"))]
    assert balance_totals(money.fund)["available"] == Decimal("50000.00")


def test_matching_restricted_money_is_drawn_first_oldest_first_then_pooled(money):
    money.donate("100000.00", on=DAY)  # pooled, and the oldest of all
    newer = money.donate("10000.00", category=money.elder_care, on=DAY + dt.timedelta(days=2))
    older = money.donate("15000.00", category=money.elder_care, on=DAY + dt.timedelta(days=1))
    other_category = money.donate("50000.00", category=money.children, on=DAY)
    application = money.at_approval("30000.00", category=money.elder_care)

    money.approve(application)

    assert commitments(application) == [(older.pk, Decimal("15000.00")), (newer.pk, Decimal("10000.00")),
                                        (None, Decimal("5000.00"))]
    left = restricted_available(money.fund)
    assert left[older.pk] == left[newer.pk] == Decimal("0.00")
    assert left[other_category.pk] == Decimal("50000.00")


def test_a_restricted_donation_covering_the_grant_leaves_pooled_money_alone(money):
    money.donate("100000.00")
    restricted = money.donate("50000.00", community=money.cast.a2)
    application = money.at_approval("20000.00", community=money.cast.a2)

    money.approve(application)

    assert commitments(application) == [(restricted.pk, Decimal("20000.00"))]
    assert restricted_available(money.fund)[restricted.pk] == Decimal("30000.00")


@pytest.mark.parametrize(("restriction", "grant", "drawn"), [
    (("elder_care", None), ("elder_care", "a1"), True),
    (("elder_care", None), ("elder_care", "a2"), True),
    (("elder_care", None), ("children", "a1"), False),
    ((None, "a2"), ("elder_care", "a2"), True),
    ((None, "a2"), ("children", "a2"), True),
    ((None, "a2"), ("elder_care", "a1"), False),
    (("elder_care", "a2"), ("elder_care", "a2"), True),
    (("elder_care", "a2"), ("children", "a2"), False),
    (("elder_care", "a2"), ("elder_care", "a1"), False),
    (("elder_care", "a2"), ("children", "a1"), False),
])
def test_restricted_money_is_drawn_only_for_a_grant_matching_category_and_community(money, restriction, grant,
                                                                                     drawn):
    category = lambda name: getattr(money, name) if name else None  # noqa: E731
    community = lambda name: getattr(money.cast, name) if name else None  # noqa: E731
    money.donate("100000.00")
    restricted = money.donate("20000.00", category=category(restriction[0]), community=community(restriction[1]))
    application = money.at_approval("10000.00", category=category(grant[0]), community=community(grant[1]))

    money.approve(application)

    assert commitments(application) == [(restricted.pk if drawn else None, Decimal("10000.00"))]


def test_a_restricted_donation_is_never_drawn_for_a_non_matching_grant_even_when_pooled_money_runs_out(money):
    money.donate("5000.00")
    restricted = money.donate("100000.00", category=money.elder_care)
    application = money.at_approval("10000.00", category=money.children)
    before = fund_state(money.fund, application)

    with pytest.raises(ApplicationConflict) as caught:
        money.approve(application)

    assert caught.value.code == "insufficient_funds"
    assert fund_state(money.fund, application) == before
    assert restricted_available(money.fund)[restricted.pk] == Decimal("100000.00")


@pytest.mark.parametrize(("amount", "approved"), [("30000.00", True), ("30000.01", False)])
def test_approval_can_commit_pooled_plus_matching_restricted_money_and_not_a_fen_more(money, amount, approved):
    money.donate("20000.00")
    money.donate("10000.00", category=money.elder_care)  # matches
    money.donate("50000.00", category=money.children)  # does not match
    application = money.at_approval(amount, category=money.elder_care)
    before = fund_state(money.fund, application)

    if approved:
        money.approve(application)
        assert sum(amount for _source, amount in commitments(application)) == Decimal(amount)
        return
    with pytest.raises(ApplicationConflict) as caught:
        money.approve(application)
    assert caught.value.code == "insufficient_funds"
    # The restricted draw posted before pooled money was found short is undone with everything else.
    assert fund_state(money.fund, application) == before
    assert application.status == State.APPROVAL
    assert application.publicity_ends_on is None
    assert ledger_problems(money.fund) == []


def test_a_refused_approval_changes_nothing_and_the_next_one_that_fits_goes_through(money):
    money.donate("50000.00")
    first = money.approved("40000.00")
    too_big = money.at_approval("10000.01")
    fits = money.at_approval("10000.00")
    before = fund_state(money.fund, first, too_big, fits)

    with pytest.raises(ApplicationConflict) as caught:
        money.approve(too_big)

    assert caught.value.code == "insufficient_funds"
    assert fund_state(money.fund, first, too_big, fits) == before
    assert too_big.tranches.count() == 0
    money.approve(fits)
    assert balance_totals(money.fund)["available"] == Decimal("0.00")
    assert ledger_problems(money.fund) == []


def test_management_fees_come_out_of_what_approvals_can_commit(money):
    money.donate("50000.00")
    services.management_fee_charge(actor=money.cast.finance, fund=money.fund, amount="20000.00", memo="管理费")
    application = money.at_approval("30000.01")

    with pytest.raises(ApplicationConflict) as caught:
        money.approve(application)

    assert caught.value.code == "insufficient_funds"


# --- The payment schedule -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "amount", "expected"), [
    (Template.FIFTY_FORTY_TEN, "100000.00", ["50000.00", "40000.00", "10000.00"]),
    (Template.FIFTY_FORTY_TEN, "33333.33", ["16666.66", "13333.33", "3333.34"]),
    (Template.FIFTY_FORTY_TEN, "10000.01", ["5000.00", "4000.00", "1000.01"]),
    (Template.SEVENTY_THIRTY, "33333.33", ["23333.33", "10000.00"]),
    (Template.SEVENTY_THIRTY, "10000.01", ["7000.00", "3000.01"]),
    (Template.FULL, "33333.33", ["33333.33"]),
])
def test_tranches_add_up_to_the_approved_amount_and_the_last_absorbs_the_rounding(money, template, amount,
                                                                                  expected):
    money.use_schedule(template)
    money.donate("100000.00")

    application = money.approved(amount)

    tranches = list(application.tranches.order_by("number"))
    assert [str(t.amount) for t in tranches] == expected
    assert sum(t.amount for t in tranches) == Decimal(amount)
    assert [t.status for t in tranches] == [PLANNED] * len(expected)


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=1, max_value=10_000_000_00), template=st.sampled_from(Template.values))
def test_every_amount_splits_into_tranches_that_add_up_exactly(cents, template):
    """For any amount in fen: shares rounded down to the fen, the last tranche takes the remainder."""
    amount = Decimal(cents) / 100
    shares = SCHEDULES[template]

    tranches = _schedule(GrantApplication(fund=Fund(tranche_template=template), approved_amount=amount))

    assert sum(t.amount for t in tranches) == amount
    assert all(t.amount > 0 for t in tranches)
    for tranche in tranches:
        percent, condition = shares[tranche.number - 1]
        assert (tranche.percent, tranche.condition) == (percent, condition)
        exact = amount * percent / 100
        if tranche.number < len(shares):
            assert tranche.amount == exact.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        else:  # absorbs what rounding down left over: less than a fen per earlier tranche
            assert exact <= tranche.amount < exact + Decimal("0.01") * len(shares)


SCHEDULES = {
    Template.FIFTY_FORTY_TEN: [(Decimal(50), Tranche.Condition.AGREEMENT_SIGNED),
                               (Decimal(40), Tranche.Condition.MIDTERM_ACCEPTED),
                               (Decimal(10), Tranche.Condition.COMPLETION_ACCEPTED)],
    Template.SEVENTY_THIRTY: [(Decimal(70), Tranche.Condition.AGREEMENT_SIGNED),
                              (Decimal(30), Tranche.Condition.COMPLETION_ACCEPTED)],
    Template.FULL: [(Decimal(100), Tranche.Condition.AGREEMENT_SIGNED)],
}


@pytest.mark.parametrize("template", list(SCHEDULES))
def test_each_template_has_its_shares_and_conditions(money, template):
    money.use_schedule(template)
    money.donate("100000.00")

    application = money.approved("60000.00")

    assert list(application.tranches.order_by("number").values_list("percent", "condition")) == SCHEDULES[template]


def test_fifty_forty_ten_tranches_become_payable_exactly_when_their_condition_is_met(money):
    money.donate("100000.00")
    application = money.approved("30000.00")
    services.objection_file(application=application, text="预算偏高")
    assert tranche_states(application) == [PLANNED, PLANNED, PLANNED]
    money.walk(application, State.AGREEMENT)
    assert tranche_states(application) == [PLANNED, PLANNED, PLANNED]

    money.walk(application, State.IN_PROGRESS)  # the agreement is signed
    assert tranche_states(application) == [PAYABLE, PLANNED, PLANNED]
    money.walk(application, State.PROGRESS_REVIEW)
    assert tranche_states(application) == [PAYABLE, PLANNED, PLANNED]
    services.progress_report_review(actor=money.cast.programme_officer, application=application, accept=False,
                            comment="请补充活动照片")
    assert tranche_states(application) == [PAYABLE, PLANNED, PLANNED]
    money.walk(application, State.PROGRESS_REVIEW)
    services.progress_report_review(actor=money.cast.programme_officer, application=application, accept=True,
                            comment="中期评估通过")
    assert tranche_states(application) == [PAYABLE, PAYABLE, PLANNED]
    money.walk(application, State.COMPLETION_ACCEPTANCE)
    assert tranche_states(application) == [PAYABLE, PAYABLE, PLANNED]
    money.walk(application, State.CLOSING)  # the completion report is accepted
    assert tranche_states(application) == [PAYABLE, PAYABLE, PAYABLE]


@pytest.mark.parametrize(("template", "on_signing", "on_completion"), [
    (Template.SEVENTY_THIRTY, [PAYABLE, PLANNED], [PAYABLE, PAYABLE]),
    (Template.FULL, [PAYABLE], [PAYABLE]),
])
def test_other_templates_release_on_signing_and_on_completion(money, template, on_signing, on_completion):
    money.use_schedule(template)
    money.donate("100000.00")
    application = money.walk(money.approved("30000.00"), State.AGREEMENT)
    assert set(tranche_states(application)) == {PLANNED}

    money.walk(application, State.IN_PROGRESS)
    assert tranche_states(application) == on_signing
    assert not application.midterm_required  # a 90-day project with no mid-term tranche
    money.walk(application, State.COMPLETION_ACCEPTANCE)
    assert tranche_states(application) == on_signing
    money.walk(application, State.CLOSING)
    assert tranche_states(application) == on_completion


# --- Releasing commitments ------------------------------------------------------------------------------------

@pytest.fixture
def split_grant(money):
    """A 30,000 elder-care grant drawn 10,000 from a restricted donation and 20,000 from pooled money."""
    money.donate("100000.00")
    restricted = money.donate("10000.00", category=money.elder_care)
    application = money.approved("30000.00")
    assert commitments(application) == [(restricted.pk, Decimal("10000.00")), (None, Decimal("20000.00"))]
    return application, restricted


@pytest.mark.parametrize("state", [State.PUBLICITY, State.AGREEMENT])
def test_withdrawal_after_approval_gives_the_commitment_back_to_where_it_came_from(money, split_grant, state):
    application, restricted = split_grant
    money.walk(application, state)

    services.application_withdraw(actor=money.cast.applicant, application=application, reason="社区另有安排")

    assert application.status == State.WITHDRAWN
    assert releases(application) == [(restricted.pk, Decimal("10000.00")), (None, Decimal("20000.00"))]
    assert restricted_available(money.fund)[restricted.pk] == Decimal("10000.00")
    assert balance_totals(money.fund)["available"] == Decimal("110000.00")
    assert balance_totals(money.fund)["committed_total"] == Decimal("0.00")
    assert tranche_states(application) == [VOID, VOID, VOID]
    assert ledger_problems(money.fund) == []


def test_withdrawal_before_approval_touches_no_money(money):
    money.donate("100000.00")
    application = money.at_approval("30000.00")

    services.application_withdraw(actor=money.cast.applicant, application=application, reason="不再需要")

    assert not application.ledger_entries.exists()
    assert balance_totals(money.fund)["available"] == Decimal("100000.00")


def test_cancellation_before_any_payment_releases_everything_and_reclaims_nothing(money, split_grant):
    application, restricted = split_grant
    money.walk(application, State.IN_PROGRESS)

    services.application_cancel(actor=money.cast.secretary_general, application=application, reason="项目无法实施")

    assert releases(application) == [(restricted.pk, Decimal("10000.00")), (None, Decimal("20000.00"))]
    assert not application.ledger_entries.filter(kind=Kind.MONEY_RECLAIMED).exists()
    assert tranche_states(application) == [VOID, VOID, VOID]
    assert balance_totals(money.fund)["available"] == Decimal("110000.00")


def test_cancellation_after_a_payment_releases_the_unpaid_part_and_records_the_paid_part_to_reclaim(
        money, split_grant):
    application, restricted = split_grant
    money.walk(application, State.IN_PROGRESS)
    pay_payable_tranches(application, money.cast.finance)  # 15,000: the restricted 10,000 and 5,000 pooled

    services.application_cancel(actor=money.cast.secretary_general, application=application, reason="挪用资金")

    assert application.status == State.CANCELLED
    assert releases(application) == [(None, Decimal("15000.00"))]
    reclaimed = application.ledger_entries.get(kind=Kind.MONEY_RECLAIMED)
    assert reclaimed.amount == Decimal("15000.00")
    assert tranche_states(application) == [PAID, VOID, VOID]
    assert restricted_available(money.fund)[restricted.pk] == Decimal("0.00")  # spent as the donor wished
    assert application_money(application) == {"committed": Decimal("15000.00"), "paid": Decimal("15000.00"),
                                              "returned": Decimal("0.00"), "to_reclaim": Decimal("15000.00")}
    totals = balance_totals(money.fund)
    assert totals["available"] == Decimal("95000.00")  # 110,000 received less the 15,000 paid out
    assert totals["paid_total"] == Decimal("15000.00")
    assert ledger_problems(money.fund) == []


def test_an_upheld_objection_releases_the_commitment(money, split_grant):
    application, restricted = split_grant
    money.walk(application, State.OBJECTION)
    objection = application.objections.get(decision=Objection.Decision.PENDING)

    services.objection_decide(actor=money.cast.secretary_general, objection=objection, uphold=True,
                              reason="经核实，异议成立")

    application.refresh_from_db()
    assert application.status == State.CANCELLED
    assert releases(application) == [(restricted.pk, Decimal("10000.00")), (None, Decimal("20000.00"))]
    assert not application.ledger_entries.filter(kind=Kind.MONEY_RECLAIMED).exists()
    assert tranche_states(application) == [VOID, VOID, VOID]
    assert balance_totals(money.fund)["available"] == Decimal("110000.00")


def test_a_dismissed_objection_keeps_the_commitment(money, split_grant):
    application, _restricted = split_grant
    objection = services.objection_file(application=application, text="预算偏高")

    services.objection_decide(actor=money.cast.secretary_general, objection=objection, uphold=False,
                              reason="异议不成立")

    application.refresh_from_db()
    assert application.status == State.AGREEMENT
    assert releases(application) == []
    assert balance_totals(money.fund)["committed_total"] == Decimal("30000.00")


def test_closing_is_refused_while_a_tranche_is_unpaid(money):
    money.donate("100000.00")
    application = money.walk(money.approved("30000.00"), State.CLOSING)
    assert tranche_states(application) == [PAYABLE, PAYABLE, PAYABLE]
    first = application.tranches.get(number=1)
    services.tranche_pay(actor=money.cast.finance, tranche=first, bank_reference="BANK-1")
    before = fund_state(money.fund, application)

    with pytest.raises(ApplicationError) as caught:
        services.application_close(actor=money.cast.finance, application=application)

    assert caught.value.code == "money_unsettled"
    assert fund_state(money.fund, application) == before
    pay_payable_tranches(application, money.cast.finance)
    services.application_close(actor=money.cast.finance, application=application)
    assert application.status == State.CLOSED
    assert application_money(application)["committed"] == application_money(application)["paid"] == Decimal(
        "30000.00")
    assert LedgerEntry.objects.filter(application=application, kind=Kind.COMMITMENT_RELEASED).count() == 0
