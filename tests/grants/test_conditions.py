"""Each broken business rule gives an ApplicationError with its code and a message, and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from grants import services
from grants.errors import ApplicationError
from grants.models import GrantApplication, Objection
from grants.services import BeneficiaryData
from grants.states import State
from tests.helpers import advance, local_noon, snapshot

S = State


def in_memory(application: GrantApplication) -> dict[str, object]:
    """The instance's own field values, keyed like `QuerySet.values()`."""
    return {f.attname: getattr(application, f.attname) for f in GrantApplication._meta.concrete_fields}


@dataclass(frozen=True)
class Case:
    """From `state`, `act` must fail with `code` (after `prepare`, which must succeed)."""

    name: str
    state: State
    code: str
    act: Callable[[GrantApplication, object], object]
    make: dict = field(default_factory=dict)
    prepare: Callable[[GrantApplication, object], object] | None = None

    def __str__(self) -> str:
        return self.name


def _submit(app, cast):
    return services.application_submit(actor=cast.applicant, application=app)


def _end_dates_swapped_then_submit(app, cast):
    app.end_date = app.start_date - dt.timedelta(days=1)  # e.g. a stale form wrote into the instance
    return services.application_submit(actor=cast.applicant, application=app)


_REQUESTED = object()  # recommend the requested amount


def _recommend(score=80, amount=_REQUESTED):
    def act(app, cast):
        return services.application_foundation_recommend(
            actor=cast.programme_officer, application=app, score=score,
            recommended_amount=app.requested_amount if amount is _REQUESTED else amount)
    return act


def _end_publicity_on_its_last_day(app, cast):
    with time_machine.travel(local_noon(app.publicity_ends_on), tick=False):
        return services.application_end_publicity(application=app)


def _pending(app) -> Objection:
    return app.objections.get(decision=Objection.Decision.PENDING)


def _midterm_returned(app, cast):
    services.progress_report_submit(actor=cast.applicant, application=app, progress="中期进展")
    services.progress_report_review(actor=cast.programme_officer, application=app, accept=False, comment="请补充数据")


def _decided_objection(app, cast):
    objection = _pending(app)
    services.objection_decide(actor=cast.secretary_general, objection=objection, uphold=False, reason="不成立")
    app.refresh_from_db()


BOARD = Decimal("150000.00")
BLANKS = ("", "   ")

CASES: list[Case] = [
    # --- Submission: the draft must be complete -------------------------------------------------------
    Case("budget-unbalanced", S.DRAFT, "budget_unbalanced", _submit,
         prepare=lambda app, cast: services.application_update(actor=cast.applicant, application=app,
                                                                requested_amount=Decimal("60000.00"))),
    Case("no-budget-lines", S.DRAFT, "budget_unbalanced", _submit, make={"budget_lines": []}),
    Case("no-beneficiaries", S.DRAFT, "no_beneficiaries", _submit, make={"beneficiaries": []}),
    Case("beneficiaries-counted-zero", S.DRAFT, "no_beneficiaries", _submit,
         make={"beneficiaries": [BeneficiaryData("elderly", 0)]}),
    Case("required-document-missing", S.DRAFT, "document_missing", _submit, make={"documents": ()}),
    Case("end-before-start-in-a-stale-instance", S.DRAFT, "dates_invalid", _end_dates_swapped_then_submit),
    Case("resubmitted-budget-unbalanced", S.REVISION_REQUESTED, "budget_unbalanced",
         lambda app, cast: services.application_resubmit(actor=cast.applicant, application=app),
         prepare=lambda app, cast: services.application_update(actor=cast.applicant, application=app,
                                                                requested_amount=Decimal("45000.00"))),
    # --- Foundation review: score and amount ----------------------------------------------------------
    Case("recommended-amount-above-request", S.FOUNDATION_REVIEW, "amount_not_set",
         lambda app, cast: _recommend(amount=app.requested_amount + Decimal("0.01"))(app, cast)),
    Case("recommend-without-amount", S.FOUNDATION_REVIEW, "amount_not_set",
         lambda app, cast: services.run_transition(app, "foundation_recommend", actor=cast.programme_officer)),
    *(Case(f"score-{score!r}", S.FOUNDATION_REVIEW, "invalid_score", _recommend(score=score))
      for score in (-1, 101, "80", 80.5)),
    *(Case(f"amount-{amount!r}", S.FOUNDATION_REVIEW, "invalid_amount", _recommend(amount=amount))
      for amount in ("abc", "0", "-100", "", None, "Infinity", "NaN")),
    # --- Approval: the board threshold ------------------------------------------------------------------
    Case("approve-above-board-threshold", S.APPROVAL, "above_board_threshold",
         lambda app, cast: services.run_transition(app, "approve", actor=cast.secretary_general),
         make={"requested_amount": BOARD}),
    Case("refer-to-board-within-threshold", S.APPROVAL, "within_board_threshold",
         lambda app, cast: services.run_transition(app, "refer_to_board", actor=cast.secretary_general)),
    Case("approval-more-than-the-fund-has", S.BOARD_APPROVAL, "insufficient_funds",
         lambda app, cast: services.application_board_approve(actor=cast.board_member, application=app,
                                                              minutes="理事会决议"),
         make={"requested_amount": Decimal("20000000.00")}),
    # --- Publicity and implementation --------------------------------------------------------------------
    Case("publicity-running", S.PUBLICITY, "publicity_running",
         lambda app, cast: services.application_end_publicity(application=app)),
    Case("publicity-on-its-last-day", S.PUBLICITY, "publicity_running", _end_publicity_on_its_last_day),
    Case("objection-outside-publicity", S.AGREEMENT, "invalid_state",
         lambda app, cast: services.objection_file(application=app, text="异议")),
    Case("objection-already-decided", S.OBJECTION, "objection_decided",
         lambda app, cast: services.objection_decide(actor=cast.secretary_general,
                                                     objection=app.objections.get(), uphold=True, reason="成立"),
         prepare=_decided_objection),
    Case("completion-before-midterm-review", S.IN_PROGRESS, "midterm_pending",
         lambda app, cast: services.completion_report_submit(actor=cast.applicant, application=app)),
    Case("completion-after-midterm-returned", S.IN_PROGRESS, "midterm_pending",
         lambda app, cast: services.completion_report_submit(actor=cast.applicant, application=app),
         prepare=_midterm_returned),
    Case("close-with-unpaid-tranches", S.CLOSING, "money_unsettled",
         lambda app, cast: services.application_close(actor=cast.finance, application=app)),
    # --- Reasons that must be given ------------------------------------------------------------------------
    *(Case(f"return-without-reason-{i}", S.STREET_REVIEW, "reason_required",
           lambda app, cast, blank=blank: services.application_return(actor=cast.street_reviewer,
                                                                      application=app, reason=blank))
      for i, blank in enumerate(BLANKS)),
    Case("reject-without-reason", S.FOUNDATION_REVIEW, "reason_required",
         lambda app, cast: services.application_reject(actor=cast.programme_officer, application=app, reason="")),
    Case("withdraw-without-reason", S.COMMUNITY_CONFIRMATION, "reason_required",
         lambda app, cast: services.application_withdraw(actor=cast.applicant, application=app, reason=" ")),
    Case("cancel-without-reason", S.IN_PROGRESS, "reason_required",
         lambda app, cast: services.application_cancel(actor=cast.secretary_general, application=app, reason="")),
    Case("board-approval-without-minutes", S.BOARD_APPROVAL, "reason_required",
         lambda app, cast: services.application_board_approve(actor=cast.board_member, application=app,
                                                              minutes=""),
         make={"requested_amount": BOARD}),
    Case("objection-without-text", S.PUBLICITY, "reason_required",
         lambda app, cast: services.objection_file(application=app, text="  ")),
    Case("objection-decided-without-reason", S.OBJECTION, "reason_required",
         lambda app, cast: services.objection_decide(actor=cast.secretary_general, objection=_pending(app),
                                                     uphold=True, reason="")),
    Case("midterm-report-without-text", S.IN_PROGRESS, "reason_required",
         lambda app, cast: services.progress_report_submit(actor=cast.applicant, application=app, progress="")),
    Case("midterm-returned-without-reason", S.PROGRESS_REVIEW, "reason_required",
         lambda app, cast: services.progress_report_review(actor=cast.programme_officer, application=app, accept=False,
                                                   comment="")),
    Case("completion-report-returned-without-reason", S.COMPLETION_VERIFICATION, "reason_required",
         lambda app, cast: services.completion_return(actor=cast.street_reviewer, application=app, reason="")),
    Case("conflict-declared-without-reason", S.STREET_REVIEW, "reason_required",
         lambda app, cast: services.conflict_declare(actor=cast.street_reviewer, application=app, reason="")),
    # --- Editing ---------------------------------------------------------------------------------------------
    Case("edit-under-review", S.STREET_REVIEW, "not_editable",
         lambda app, cast: services.application_update(actor=cast.applicant, application=app, title="新标题")),
    Case("edit-a-field-the-applicant-does-not-own", S.DRAFT, "field_not_editable",
         lambda app, cast: services.application_update(actor=cast.applicant, application=app, score=100)),
]


def _arrange(case: Case, cast, make_application) -> GrantApplication:
    application = advance(make_application(**case.make), case.state, cast)
    if case.prepare is not None:
        case.prepare(application, cast)
    return application


def _fail(case: Case, application: GrantApplication, cast) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        case.act(application, cast)
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=str)
def test_broken_rule_is_refused_with_its_code_and_changes_nothing(case: Case, cast, make_application):
    application = _arrange(case, cast, make_application)
    before = snapshot(application)

    with translation.override("en"):
        error = _fail(case, application, cast)

    assert error.code == case.code, error.message
    assert error.message.strip()
    assert snapshot(application) == before
    # The caller's instance is reloaded too: no half-applied decision stays in memory.
    assert in_memory(application) == before["row"]


# One case per error code is enough to show that the messages go through the catalogue.
ONE_PER_CODE = list({case.code: case for case in reversed(CASES)}.values())


# Drop this mark once locale/zh_Hans/LC_MESSAGES/django.mo is committed or compiled before the tests run.
@pytest.mark.parametrize("case", ONE_PER_CODE, ids=str)
def test_broken_rule_message_is_translated_to_chinese(case: Case, cast, make_application):
    application = _arrange(case, cast, make_application)
    with translation.override("en"):
        english = _fail(case, application, cast).message
    with translation.override("zh-hans"):
        chinese = _fail(case, application, cast).message
    assert chinese.strip() and chinese != english


# --- Dates are a field problem: ValidationError from the drafting services --------------------------------


def test_application_cannot_be_created_ending_before_it_starts(cast):
    from tests.factories import ApplicationFactory

    count = GrantApplication.objects.count()
    start = timezone.localdate() + dt.timedelta(days=30)
    with pytest.raises(ValidationError) as caught:
        ApplicationFactory(actor=cast.applicant, category=cast.elder_care, start_date=start,
                           end_date=start - dt.timedelta(days=1))
    assert "end_date" in caught.value.message_dict
    assert GrantApplication.objects.count() == count


def test_draft_cannot_be_edited_to_end_before_it_starts(cast, make_application):
    application = make_application()
    before = snapshot(application)
    with pytest.raises(ValidationError) as caught:
        services.application_update(actor=cast.applicant, application=application,
                                    end_date=application.start_date - dt.timedelta(days=1))
    assert "end_date" in caught.value.message_dict
    assert snapshot(application) == before
    assert in_memory(application) == before["row"]


def test_application_cannot_be_created_in_a_closed_category(cast):
    from tests.factories import ApplicationFactory

    count = GrantApplication.objects.count()
    with pytest.raises(ApplicationError) as caught:
        ApplicationFactory(actor=cast.applicant, category=cast.closed_category)
    assert caught.value.code == "category_closed"
    assert GrantApplication.objects.count() == count


# --- The board threshold routes the approval --------------------------------------------------------------


@pytest.mark.parametrize(("amount", "reached"), [
    (Decimal("99999.99"), S.PUBLICITY),
    (Decimal("100000.00"), S.PUBLICITY),
    (Decimal("100000.01"), S.BOARD_APPROVAL),
])
def test_approval_above_the_board_threshold_goes_to_the_board(amount, reached, cast, make_application):
    application = advance(make_application(requested_amount=amount), S.APPROVAL, cast)
    services.application_approve(actor=cast.secretary_general, application=application)
    application.refresh_from_db()
    assert application.status == reached
    assert (application.publicity_ends_on is not None) == (reached == S.PUBLICITY)
    assert application.approved_at is not None if reached == S.PUBLICITY else application.approved_at is None


def test_publicity_ends_on_the_first_day_after_its_period(cast, make_application):
    application = advance(make_application(), S.PUBLICITY, cast)
    with time_machine.travel(local_noon(application.publicity_ends_on + dt.timedelta(days=1)), tick=False):
        services.application_end_publicity(application=application)
    assert application.status == S.AGREEMENT
