"""Who may take each transition: the expected person only; everyone else is refused and nothing changes.

The table below says, for every actor-driven transition of `GrantApplication` and every state it leaves,
which member of the cast (tests/conftest.py) may take it. Every other member of the cast, in scope or
not, must get `ActionForbidden` with a message, and leave the application exactly as it was.
`end_publicity` (the system, by timer) and `receive_objection` (anyone, by `objection_file`) have no
actor and are covered in test_lifecycle.py and test_conditions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import translation

from grants import services
from grants.errors import ActionForbidden, ApplicationError
from grants.models import AuditEntry, GrantApplication, Objection, Role
from grants.permissions import may_pay
from grants.states import State
from tests.factories import UserFactory
from tests.helpers import advance, pay_payable_tranches, snapshot, write_completion_report

S = State


def _pending_objection(application: GrantApplication) -> Objection:
    return application.objections.get(decision=Objection.Decision.PENDING)


# How each transition is taken through its service: (application, person) -> None.
CALLS: dict[str, Callable[[GrantApplication, object], object]] = {
    "submit": lambda app, who: services.application_submit(actor=who, application=app),
    "confirm": lambda app, who: services.application_confirm(actor=who, application=app),
    "resubmit": lambda app, who: services.application_resubmit(actor=who, application=app),
    "withdraw": lambda app, who: services.application_withdraw(actor=who, application=app, reason="不再需要"),
    "return_for_revision": lambda app, who: services.application_return(actor=who, application=app,
                                                                        reason="请补充材料"),
    "reject": lambda app, who: services.application_reject(actor=who, application=app, reason="不符合资助范围"),
    "street_approve": lambda app, who: services.application_street_approve(actor=who, application=app),
    "street_sign_off": lambda app, who: services.application_street_sign_off(actor=who, application=app),
    "foundation_recommend": lambda app, who: services.application_foundation_recommend(
        actor=who, application=app, score=80, recommended_amount=app.requested_amount),
    "approve": lambda app, who: services.application_approve(actor=who, application=app),
    "refer_to_board": lambda app, who: services.application_approve(actor=who, application=app),
    "board_approve": lambda app, who: services.application_board_approve(actor=who, application=app,
                                                                         minutes="理事会决议"),
    "dismiss_objection": lambda app, who: services.objection_decide(
        actor=who, objection=_pending_objection(app), uphold=False, reason="异议不成立"),
    "uphold_objection": lambda app, who: services.objection_decide(
        actor=who, objection=_pending_objection(app), uphold=True, reason="异议成立"),
    "sign_agreement": lambda app, who: services.agreement_sign(actor=who, application=app),
    "submit_progress_report": lambda app, who: services.progress_report_submit(actor=who, application=app,
                                                                             progress="中期进展"),
    "accept_progress_report": lambda app, who: services.progress_report_review(actor=who, application=app, accept=True,
                                                               comment="通过"),
    "return_progress_report": lambda app, who: services.progress_report_review(actor=who, application=app, accept=False,
                                                               comment="请补充"),
    "submit_completion_report": lambda app, who: services.completion_report_submit(actor=who, application=app),
    "verify_completion": lambda app, who: services.completion_verify(actor=who, application=app),
    "return_completion_report": lambda app, who: services.completion_return(actor=who, application=app,
                                                                            reason="缺少票据"),
    "accept_completion": lambda app, who: services.completion_accept(actor=who, application=app),
    "close": lambda app, who: services.application_close(actor=who, application=app),
    "cancel": lambda app, who: services.application_cancel(actor=who, application=app, reason="项目无法继续"),
}

BOARD_AMOUNT = Decimal("150000.00")  # above the cast fund's board threshold of 100,000


@dataclass(frozen=True)
class Row:
    """`transition` from `state` may be taken by `allowed` only, and then leads to `target`."""

    transition: str
    state: State
    allowed: str
    target: State
    requested: Decimal = Decimal("50000.00")
    # Run after reaching `state`: what else must be true before the transition may be taken.
    setup: Callable[[GrantApplication, object], object] | None = None

    def __str__(self) -> str:
        return f"{self.transition}-from-{self.state.value}"


RETURNABLE = [(S.COMMUNITY_CONFIRMATION, "community_head"), (S.STREET_REVIEW, "street_reviewer"),
              (S.STREET_SIGNOFF, "street_leader"), (S.FOUNDATION_REVIEW, "programme_officer"),
              (S.APPROVAL, "secretary_general"), (S.BOARD_APPROVAL, "board_member")]


def _amount(state: State) -> Decimal:
    return BOARD_AMOUNT if state == S.BOARD_APPROVAL else Decimal("50000.00")


TABLE: list[Row] = [
    Row("submit", S.DRAFT, "applicant", S.COMMUNITY_CONFIRMATION),
    Row("confirm", S.COMMUNITY_CONFIRMATION, "community_head", S.STREET_REVIEW),
    Row("resubmit", S.REVISION_REQUESTED, "applicant", S.STREET_REVIEW),
    *(Row("withdraw", state, "applicant", S.WITHDRAWN, _amount(state))
      for state in (S.DRAFT, S.REVISION_REQUESTED, *(s for s, _ in RETURNABLE), S.PUBLICITY, S.AGREEMENT)),
    *(Row("return_for_revision", state, who, S.REVISION_REQUESTED, _amount(state)) for state, who in RETURNABLE),
    *(Row("reject", state, who, S.REJECTED, _amount(state)) for state, who in RETURNABLE[1:]),
    Row("street_approve", S.STREET_REVIEW, "street_reviewer", S.STREET_SIGNOFF),
    Row("street_sign_off", S.STREET_SIGNOFF, "street_leader", S.FOUNDATION_REVIEW),
    Row("foundation_recommend", S.FOUNDATION_REVIEW, "programme_officer", S.APPROVAL),
    Row("approve", S.APPROVAL, "secretary_general", S.PUBLICITY),
    Row("refer_to_board", S.APPROVAL, "secretary_general", S.BOARD_APPROVAL, BOARD_AMOUNT),
    Row("board_approve", S.BOARD_APPROVAL, "board_member", S.PUBLICITY, BOARD_AMOUNT),
    Row("dismiss_objection", S.OBJECTION, "secretary_general", S.AGREEMENT),
    Row("uphold_objection", S.OBJECTION, "secretary_general", S.CANCELLED),
    Row("sign_agreement", S.AGREEMENT, "secretary_general", S.IN_PROGRESS),
    Row("submit_progress_report", S.IN_PROGRESS, "applicant", S.PROGRESS_REVIEW),
    Row("accept_progress_report", S.PROGRESS_REVIEW, "programme_officer", S.IN_PROGRESS),
    Row("return_progress_report", S.PROGRESS_REVIEW, "programme_officer", S.IN_PROGRESS),
    # The fund's 50-40-10 schedule has a mid-term tranche, so the mid-term review must be accepted first.
    Row("submit_completion_report", S.IN_PROGRESS, "applicant", S.COMPLETION_VERIFICATION,
        setup=lambda app, cast: (advance(app, S.PROGRESS_REVIEW, cast),
                                 services.progress_report_review(actor=cast.programme_officer, application=app,
                                                                 accept=True, comment="通过"),
                                 write_completion_report(app, cast.applicant))),
    Row("submit_completion_report", S.REPORT_RETURNED, "applicant", S.COMPLETION_VERIFICATION),
    Row("verify_completion", S.COMPLETION_VERIFICATION, "street_reviewer", S.COMPLETION_ACCEPTANCE),
    Row("return_completion_report", S.COMPLETION_VERIFICATION, "street_reviewer", S.REPORT_RETURNED),
    Row("return_completion_report", S.COMPLETION_ACCEPTANCE, "programme_officer", S.REPORT_RETURNED),
    Row("accept_completion", S.COMPLETION_ACCEPTANCE, "programme_officer", S.CLOSING),
    Row("close", S.CLOSING, "finance", S.CLOSED,
        setup=lambda app, cast: pay_payable_tranches(app, cast.finance)),
    *(Row("cancel", state, "secretary_general", S.CANCELLED)
      for state in (S.PUBLICITY, S.AGREEMENT, S.IN_PROGRESS, S.PROGRESS_REVIEW, S.COMPLETION_VERIFICATION,
                    S.COMPLETION_ACCEPTANCE, S.REPORT_RETURNED)),
]


def fsm_transitions() -> set[tuple[str, str]]:
    """(transition, source) of every transition of GrantApplication that a person takes (has a permission)."""
    pairs = set()
    for name in dir(GrantApplication):
        meta = getattr(getattr(GrantApplication, name, None), "_django_fsm", None)
        if meta is None:
            continue
        for source, transition in meta.transitions.items():
            if transition.permission is not None:
                pairs.add((name, str(source)))
    return pairs


def test_the_table_covers_every_transition_a_person_takes():
    table = {(row.transition, row.state.value) for row in TABLE}
    assert table == fsm_transitions()
    assert set(CALLS) == {name for name, _ in table}


@pytest.mark.parametrize("row", TABLE, ids=str)
def test_only_the_expected_actor_may_take_the_transition(row: Row, cast, make_application):
    application = advance(make_application(requested_amount=row.requested), row.state, cast)
    if row.setup is not None:
        row.setup(application, cast)
        assert application.status == row.state
    before = snapshot(application)
    wrong: list[str] = []
    for name, person in cast.people.items():
        if name == row.allowed:
            continue
        try:
            CALLS[row.transition](application, person)
        except ActionForbidden as exc:
            if exc.code != "forbidden" or not exc.message.strip():
                wrong.append(f"{name}: refused with code={exc.code!r} message={exc.message!r}")
        except Exception as exc:  # any other outcome is a finding, reported below
            wrong.append(f"{name}: expected ActionForbidden, got {type(exc).__name__}: {exc}")
        else:
            wrong.append(f"{name}: was allowed to {row.transition}")
        if application.status != row.state:
            wrong.append(f"{name}: the refused attempt changed the application's state")
            break
    assert not wrong, "\n".join(wrong)
    assert snapshot(application) == before, "a refused attempt changed the application"

    actor = getattr(cast, row.allowed)
    CALLS[row.transition](application, actor)
    application.refresh_from_db()
    assert application.status == row.target
    entries = list(AuditEntry.objects.filter(application=application).order_by("id"))
    assert len(entries) == len(before["audit"]) + 1
    last = entries[-1]
    assert (last.action, last.from_state, last.to_state, last.actor) == (
        row.transition, row.state, row.target, actor)


@pytest.mark.parametrize(("transition", "state", "actor"), [
    ("street_approve", S.DRAFT, "street_reviewer"),
    ("confirm", S.STREET_REVIEW, "community_head"),
    ("approve", S.FOUNDATION_REVIEW, "secretary_general"),
    ("close", S.COMPLETION_ACCEPTANCE, "finance"),
    ("reject", S.COMMUNITY_CONFIRMATION, "community_head"),
    ("withdraw", S.IN_PROGRESS, "applicant"),
], ids=lambda v: getattr(v, "value", v))
def test_transition_from_a_state_it_does_not_leave_is_refused_for_the_right_person_too(
        transition, state, actor, cast, make_application):
    application = advance(make_application(), state, cast)
    before = snapshot(application)
    with pytest.raises(ApplicationError) as caught:
        CALLS[transition](application, getattr(cast, actor))
    assert type(caught.value) is ApplicationError
    assert caught.value.code == "invalid_state" and caught.value.message
    assert snapshot(application) == before


# --- Scope: the same role in another organisation is no role at all -------------------------------------


def test_reviewer_of_other_street_cannot_approve(cast, make_application):
    application = advance(make_application(), S.STREET_REVIEW, cast)
    before = snapshot(application)
    with translation.override("en"), pytest.raises(ActionForbidden) as caught:
        services.application_street_approve(actor=cast.other_street_reviewer, application=application)
    assert "street office" in caught.value.message
    assert snapshot(application) == before


def test_reviewer_of_street_b_may_review_street_b_but_not_street_a(cast):
    from tests.factories import ApplicationFactory

    head_b = UserFactory(username="head_b", roles=[(Role.COMMUNITY_HEAD, cast.b1)])
    application = ApplicationFactory(actor=cast.applicant_b, category=cast.children)
    advance(application, S.STREET_REVIEW, cast,
            actors={S.DRAFT: cast.applicant_b, S.COMMUNITY_CONFIRMATION: head_b})
    with pytest.raises(ActionForbidden):
        services.application_street_approve(actor=cast.street_reviewer, application=application)
    services.application_street_approve(actor=cast.other_street_reviewer, application=application)
    assert application.status == S.STREET_SIGNOFF


def test_applicant_of_other_community_cannot_submit(cast, make_application):
    application = make_application()
    with pytest.raises(ActionForbidden):
        services.application_submit(actor=cast.applicant_b, application=application)
    assert GrantApplication.objects.get(pk=application.pk).status == S.DRAFT


# --- Separation of duties --------------------------------------------------------------------------------


def test_submitter_who_is_also_community_head_cannot_confirm(cast, dual, make_application):
    application = make_application(actor=dual.applicant_head)
    services.application_submit(actor=dual.applicant_head, application=application)
    before = snapshot(application)
    with translation.override("en"), pytest.raises(ActionForbidden) as caught:
        services.application_confirm(actor=dual.applicant_head, application=application)
    assert "already signed" in caught.value.message
    assert snapshot(application) == before
    services.application_confirm(actor=cast.community_head, application=application)
    assert application.status == S.STREET_REVIEW


def test_programme_officer_who_recommended_cannot_approve_as_secretary_general(cast, dual, make_application):
    application = advance(make_application(), S.FOUNDATION_REVIEW, cast)
    services.application_foundation_recommend(actor=dual.officer_secretary, application=application, score=90,
                                              recommended_amount="50000")
    before = snapshot(application)
    for attempt in (
        lambda: services.application_approve(actor=dual.officer_secretary, application=application),
        lambda: services.application_return(actor=dual.officer_secretary, application=application, reason="x"),
        lambda: services.application_reject(actor=dual.officer_secretary, application=application, reason="x"),
    ):
        with translation.override("en"), pytest.raises(ActionForbidden) as caught:
            attempt()
        assert "already signed" in caught.value.message
        assert snapshot(application) == before
    services.application_approve(actor=cast.secretary_general, application=application)
    assert application.status == S.PUBLICITY


def test_secretary_general_who_referred_to_the_board_cannot_approve_as_board_member(cast, dual,
                                                                                     make_application):
    application = advance(make_application(requested_amount=BOARD_AMOUNT), S.APPROVAL, cast)
    services.application_approve(actor=dual.secretary_board, application=application)
    assert application.status == S.BOARD_APPROVAL
    before = snapshot(application)
    with pytest.raises(ActionForbidden):
        services.application_board_approve(actor=dual.secretary_board, application=application, minutes="纪要")
    assert snapshot(application) == before
    services.application_board_approve(actor=cast.board_member, application=application, minutes="纪要")
    assert application.status == S.PUBLICITY


def test_street_reviewer_who_approved_cannot_sign_off_as_street_leader(cast, dual, make_application):
    application = advance(make_application(), S.STREET_REVIEW, cast)
    services.application_street_approve(actor=dual.reviewer_leader, application=application)
    with pytest.raises(ActionForbidden):
        services.application_street_sign_off(actor=dual.reviewer_leader, application=application)
    services.application_street_sign_off(actor=cast.street_leader, application=application)
    assert application.status == S.FOUNDATION_REVIEW


def test_declared_conflict_bars_reviewer(cast, dual, make_application):
    application = advance(make_application(), S.STREET_REVIEW, cast)
    services.conflict_declare(actor=cast.street_reviewer, application=application, reason="申请项目负责人是我的亲属")
    before = snapshot(application)
    for attempt in (
        lambda: services.application_street_approve(actor=cast.street_reviewer, application=application),
        lambda: services.application_return(actor=cast.street_reviewer, application=application, reason="x"),
        lambda: services.application_reject(actor=cast.street_reviewer, application=application, reason="x"),
    ):
        with translation.override("en"), pytest.raises(ActionForbidden) as caught:
            attempt()
        assert "conflict of interest" in caught.value.message
        assert snapshot(application) == before
    # Another reviewer of the same street is not barred.
    services.application_street_approve(actor=dual.reviewer_leader, application=application)
    assert application.status == S.STREET_SIGNOFF


def test_declared_conflict_bars_foundation_approver(cast, make_application):
    application = advance(make_application(), S.APPROVAL, cast)
    services.conflict_declare(actor=cast.secretary_general, application=application, reason="捐赠方关联")
    with pytest.raises(ActionForbidden):
        services.application_approve(actor=cast.secretary_general, application=application)
    assert GrantApplication.objects.get(pk=application.pk).status == S.APPROVAL


def test_applicant_who_is_also_street_reviewer_cannot_review_own_community(cast, dual, make_application):
    application = advance(make_application(), S.STREET_REVIEW, cast)
    before = snapshot(application)
    for attempt in (
        lambda: services.application_street_approve(actor=dual.applicant_street_reviewer, application=application),
        lambda: services.application_return(actor=dual.applicant_street_reviewer, application=application,
                                            reason="x"),
    ):
        with translation.override("en"), pytest.raises(ActionForbidden) as caught:
            attempt()
        assert "applying community" in caught.value.message
        assert snapshot(application) == before
    # They are kept out already; a declaration would add nothing.
    with pytest.raises(ApplicationError) as caught:
        services.conflict_declare(actor=dual.applicant_street_reviewer, application=application, reason="本社区")
    assert caught.value.code == "conflict_redundant"


def test_applicant_who_is_also_street_reviewer_cannot_verify_own_completion_report(cast, dual, make_application):
    application = advance(make_application(), S.COMPLETION_VERIFICATION, cast)
    with pytest.raises(ActionForbidden):
        services.completion_verify(actor=dual.applicant_street_reviewer, application=application)


def test_person_who_confirmed_cannot_later_resubmit_as_applicant(cast, dual, make_application):
    """Nobody signs two steps of one application: the confirmer may not also hand in its revised version.

    `applicant_head` (applicant and head of A1) drafted the application, another applicant submitted it,
    and applicant_head confirmed it as head. After the street returns it, applicant_head must not resubmit
    it, because the revised version would then leave the community with nobody else's confirmation.
    """
    application = make_application(actor=dual.applicant_head)
    services.application_submit(actor=cast.applicant, application=application)
    services.application_confirm(actor=dual.applicant_head, application=application)
    services.application_return(actor=cast.street_reviewer, application=application, reason="请补充预算明细")
    before = snapshot(application)
    with pytest.raises(ActionForbidden):
        services.application_resubmit(actor=dual.applicant_head, application=application)
    assert snapshot(application) == before


def test_may_pay_refuses_an_approver(cast, dual, make_application):
    application = advance(make_application(), S.APPROVAL, cast)
    services.application_approve(actor=dual.secretary_finance, application=application)
    advance(application, S.CLOSING, cast)
    with translation.override("en"):
        refusal = may_pay(dual.secretary_finance, application)
    assert refusal and "approval" in refusal
    assert may_pay(cast.finance, application) is None


def test_may_pay_refuses_everyone_but_finance(cast, make_application):
    application = advance(make_application(), S.IN_PROGRESS, cast)
    for name, person in cast.people.items():
        refusal = may_pay(person, application)
        assert (refusal is None) == (name == "finance"), name


def test_may_pay_refuses_finance_with_a_declared_conflict(cast, make_application):
    application = advance(make_application(), S.IN_PROGRESS, cast)
    services.conflict_declare(actor=cast.finance, application=application, reason="项目负责人是我的配偶")
    assert may_pay(cast.finance, application)
