"""An application's whole life through the services, with the audit trail each step leaves behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from grants import services
from grants.errors import ApplicationError
from grants.models import AuditEntry, GrantApplication, LedgerEntry, Objection, Tranche
from grants.states import REJECTABLE_STATES, RETURNABLE_STATES, State
from tests.helpers import DECIDERS, advance, audit_trail, local_noon, pay_payable_tranches, snapshot

S = State
BOARD_AMOUNT = Decimal("150000.00")


def _amount_for(state: State) -> Decimal:
    return BOARD_AMOUNT if state == S.BOARD_APPROVAL else Decimal("50000.00")


def _kinds(application: GrantApplication) -> list[str]:
    return list(LedgerEntry.objects.filter(application=application).order_by("seq").values_list("kind", flat=True))


def test_happy_path_from_draft_to_closed_leaves_a_complete_audit_trail(cast, make_application):
    application = make_application(requested_amount=Decimal("48000.00"))
    advance(application, S.CLOSED, cast)

    assert audit_trail(application) == [
        ("submit", "draft", "community_confirmation", "applicant"),
        ("confirm", "community_confirmation", "street_review", "community_head"),
        ("street_approve", "street_review", "street_signoff", "street_reviewer"),
        ("street_sign_off", "street_signoff", "foundation_review", "street_leader"),
        ("foundation_recommend", "foundation_review", "approval", "programme_officer"),
        ("approve", "approval", "publicity", "secretary_general"),
        ("end_publicity", "publicity", "agreement", None),
        ("sign_agreement", "agreement", "in_progress", "secretary_general"),
        # The fund pays 50-40-10, so a mid-term review is owed before the completion report.
        ("submit_progress_report", "in_progress", "progress_review", "applicant"),
        ("accept_progress_report", "progress_review", "in_progress", "programme_officer"),
        ("submit_completion_report", "in_progress", "completion_verification", "applicant"),
        ("verify_completion", "completion_verification", "completion_acceptance", "street_reviewer"),
        ("accept_completion", "completion_acceptance", "closing", "programme_officer"),
        ("close", "closing", "closed", "finance"),
    ]
    application.refresh_from_db()
    assert application.approved_amount == Decimal("48000.00") and application.score == 85
    assert application.submitted_at and application.approved_at and application.agreement_signed_at
    assert application.closed_at and application.midterm_accepted_at
    assert list(application.tranches.values_list("status", flat=True)) == [Tranche.Status.PAID] * 3
    times = list(AuditEntry.objects.filter(application=application).order_by("id")
                 .values_list("created_at", flat=True))
    assert times[6] > times[5]  # the publicity timer fired after the publicity period, not before


def test_board_path_above_the_threshold(cast, make_application):
    application = advance(make_application(requested_amount=BOARD_AMOUNT), S.APPROVAL, cast)
    services.application_approve(actor=cast.secretary_general, application=application)
    assert application.status == S.BOARD_APPROVAL
    assert application.publicity_ends_on is None
    services.application_board_approve(actor=cast.board_member, application=application, minutes="理事会第3次会议")
    application.refresh_from_db()
    assert application.status == S.PUBLICITY
    assert application.board_minutes == "理事会第3次会议" and application.publicity_ends_on
    assert audit_trail(application)[-2:] == [
        ("refer_to_board", "approval", "board_approval", "secretary_general"),
        ("board_approve", "board_approval", "publicity", "board_member"),
    ]
    advance(application, S.IN_PROGRESS, cast)


NEXT_STATE = {S.COMMUNITY_CONFIRMATION: S.STREET_REVIEW, S.STREET_REVIEW: S.STREET_SIGNOFF,
              S.STREET_SIGNOFF: S.FOUNDATION_REVIEW, S.FOUNDATION_REVIEW: S.APPROVAL,
              S.APPROVAL: S.PUBLICITY, S.BOARD_APPROVAL: S.PUBLICITY}


@pytest.mark.parametrize("level", RETURNABLE_STATES, ids=lambda s: s.value)
def test_returned_application_comes_back_to_the_level_that_returned_it(level, cast, make_application):
    application = advance(make_application(requested_amount=_amount_for(level)), S.REVISION_REQUESTED, cast,
                          return_at=level)
    assert application.returned_from == level
    services.application_update(actor=cast.applicant, application=application, title="修改后的项目名称")
    services.application_resubmit(actor=cast.applicant, application=application, comment="已修改")

    application.refresh_from_db()
    assert application.status == level and application.returned_from == ""
    decider = DECIDERS[level]
    assert audit_trail(application)[-2:] == [
        ("return_for_revision", level, "revision_requested", decider),
        ("resubmit", "revision_requested", level, "applicant"),
    ]
    # The same decider takes the step again and the application moves on.
    advance(application, NEXT_STATE[level], cast)


def test_application_can_be_returned_twice_and_still_reach_approval(cast, make_application):
    application = advance(make_application(), S.REVISION_REQUESTED, cast, return_at=S.STREET_SIGNOFF)
    services.application_resubmit(actor=cast.applicant, application=application)
    advance(application, S.REVISION_REQUESTED, cast, return_at=S.FOUNDATION_REVIEW)
    advance(application, S.PUBLICITY, cast)
    assert [a for a, *_ in audit_trail(application)].count("return_for_revision") == 2


@pytest.mark.parametrize("level", REJECTABLE_STATES, ids=lambda s: s.value)
def test_rejected_application_is_final(level, cast, make_application):
    application = advance(make_application(requested_amount=_amount_for(level)), level, cast)
    decider = getattr(cast, DECIDERS[level])
    services.application_reject(actor=decider, application=application, reason="不属于本基金资助范围")
    application.refresh_from_db()
    assert application.status == S.REJECTED
    assert audit_trail(application)[-1] == ("reject", level, "rejected", DECIDERS[level])
    assert _kinds(application) == []  # nothing was ever committed
    before = snapshot(application)
    for attempt in (
        lambda: services.application_resubmit(actor=cast.applicant, application=application),
        lambda: services.application_withdraw(actor=cast.applicant, application=application, reason="撤回"),
        lambda: services.application_return(actor=decider, application=application, reason="再议"),
    ):
        with pytest.raises(ApplicationError) as caught:
            attempt()
        assert caught.value.code == "invalid_state"
    assert snapshot(application) == before


@pytest.mark.parametrize("state", [S.DRAFT, S.STREET_REVIEW, S.REVISION_REQUESTED, S.PUBLICITY, S.AGREEMENT],
                         ids=lambda s: s.value)
def test_applicant_withdraws_before_the_agreement_is_signed(state, cast, make_application):
    application = advance(make_application(), state, cast)
    services.application_withdraw(actor=cast.applicant, application=application, reason="社区已获其他资助")
    application.refresh_from_db()
    assert application.status == S.WITHDRAWN
    assert audit_trail(application)[-1] == ("withdraw", state, "withdrawn", "applicant")
    if state in (S.PUBLICITY, S.AGREEMENT):  # approved: the commitment goes back to the fund
        assert _kinds(application) == [LedgerEntry.Kind.COMMITMENT, LedgerEntry.Kind.COMMITMENT_RELEASED]
    else:
        assert _kinds(application) == []


def test_upheld_objection_cancels_the_grant(cast, make_application):
    application = advance(make_application(), S.OBJECTION, cast)
    objection = application.objections.get()
    services.objection_decide(actor=cast.secretary_general, objection=objection, uphold=True,
                              reason="承接机构与捐赠方存在关联关系")
    application.refresh_from_db()
    objection.refresh_from_db()
    assert application.status == S.CANCELLED
    assert objection.decision == Objection.Decision.UPHELD
    assert audit_trail(application)[-2:] == [
        ("receive_objection", "publicity", "objection", None),
        ("uphold_objection", "objection", "cancelled", "secretary_general"),
    ]
    assert _kinds(application) == [LedgerEntry.Kind.COMMITMENT, LedgerEntry.Kind.COMMITMENT_RELEASED]


def test_dismissed_objection_leads_to_the_agreement(cast, make_application):
    application = advance(make_application(), S.OBJECTION, cast)
    objection = application.objections.get()
    services.objection_decide(actor=cast.secretary_general, objection=objection, uphold=False, reason="异议不成立")
    application.refresh_from_db()
    objection.refresh_from_db()
    assert application.status == S.AGREEMENT
    assert objection.decision == Objection.Decision.DISMISSED
    assert audit_trail(application)[-1] == ("dismiss_objection", "objection", "agreement", "secretary_general")
    services.agreement_sign(actor=cast.secretary_general, application=application)
    assert application.status == S.IN_PROGRESS


def test_grant_cancelled_in_progress_voids_its_unpaid_tranches(cast, make_application):
    application = advance(make_application(), S.IN_PROGRESS, cast)
    pay_payable_tranches(application, cast.finance)  # the first 50% after signing
    services.application_cancel(actor=cast.secretary_general, application=application, reason="项目执行严重违规")
    application.refresh_from_db()
    assert application.status == S.CANCELLED
    assert audit_trail(application)[-1] == ("cancel", "in_progress", "cancelled", "secretary_general")
    assert list(application.tranches.order_by("number").values_list("status", flat=True)) == [
        Tranche.Status.PAID, Tranche.Status.VOID, Tranche.Status.VOID]
    assert LedgerEntry.Kind.MONEY_RECLAIMED in _kinds(application)


def test_midterm_report_returned_then_accepted(cast, make_application):
    application = advance(make_application(), S.PROGRESS_REVIEW, cast)
    services.progress_report_review(actor=cast.programme_officer, application=application, accept=False,
                            comment="请补充服务人次")
    assert application.status == S.IN_PROGRESS and application.midterm_accepted_at is None
    advance(application, S.COMPLETION_VERIFICATION, cast)
    assert [a for a, *_ in audit_trail(application)][-4:] == [
        "return_progress_report", "submit_progress_report", "accept_progress_report", "submit_completion_report"]


@pytest.mark.parametrize(("returned_at", "by"), [(S.COMPLETION_VERIFICATION, "street_reviewer"),
                                                  (S.COMPLETION_ACCEPTANCE, "programme_officer")],
                         ids=["by-street", "by-foundation"])
def test_returned_completion_report_is_verified_again(returned_at, by, cast, make_application):
    application = advance(make_application(), returned_at, cast)
    services.completion_return(actor=getattr(cast, by), application=application, reason="缺少受益人签字")
    assert application.status == S.REPORT_RETURNED
    advance(application, S.CLOSED, cast)
    actions = [a for a, *_ in audit_trail(application)]
    assert actions.count("verify_completion") == (2 if returned_at == S.COMPLETION_ACCEPTANCE else 1)
    assert actions.count("submit_completion_report") == 2


def test_publicity_ended_by_the_service_lets_the_agreement_be_signed(cast, make_application):
    """`application_end_publicity` is the service a sweep over publicity that has run out would call."""
    application = advance(make_application(), S.PUBLICITY, cast)
    with time_machine.travel(local_noon(application.publicity_ends_on + dt.timedelta(days=1)), tick=False):
        services.application_end_publicity(application=application)
    assert application.status == S.AGREEMENT
    services.agreement_sign(actor=cast.secretary_general, application=application)
    assert application.status == S.IN_PROGRESS


# --- The audit trail is append-only --------------------------------------------------------------------


@pytest.fixture
def audited(cast, make_application) -> GrantApplication:
    return advance(make_application(), S.STREET_REVIEW, cast)


def _rows(application):
    return list(AuditEntry.objects.filter(application=application).order_by("id").values())


def test_audit_entry_cannot_be_changed(audited):
    before = _rows(audited)
    entry = AuditEntry.objects.filter(application=audited).first()
    entry.comment = "改写历史"
    with pytest.raises(ValidationError):
        entry.save()
    assert _rows(audited) == before


def test_audit_entry_cannot_be_deleted(audited):
    before = _rows(audited)
    with pytest.raises(ValidationError):
        AuditEntry.objects.filter(application=audited).first().delete()
    assert _rows(audited) == before


def test_audited_application_cannot_be_deleted(audited):
    before = _rows(audited)
    with transaction.atomic(), pytest.raises(ProtectedError):
        GrantApplication.objects.filter(pk=audited.pk).delete()
    assert _rows(audited) == before


def _refused(operation) -> bool:
    try:
        with transaction.atomic():
            operation()
    except Exception:  # any refusal will do: model, manager or database
        return True
    return False


def test_audit_entries_cannot_be_changed_in_bulk(audited):
    before = _rows(audited)
    refused = _refused(lambda: AuditEntry.objects.filter(application=audited).update(comment="改写历史"))
    assert refused and _rows(audited) == before, "QuerySet.update() rewrote audit entries"


def test_audit_entries_cannot_be_deleted_in_bulk(audited):
    """A cleanup script, a data migration or the shell deletes through QuerySet.delete(), not Model.delete()."""
    before = _rows(audited)
    refused = _refused(lambda: AuditEntry.objects.filter(application=audited).delete())
    assert refused and _rows(audited) == before, "QuerySet.delete() removed audit entries"
