"""Test helpers: walk an application through its life with the real services, and compare snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import contextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings

from grants import services
from grants.models import (
    Attachment,
    AuditEntry,
    BeneficiaryGroup,
    BudgetLine,
    ConflictDeclaration,
    GrantApplication,
    Objection,
)
from grants.states import FINAL_STATES, STEPS, State

# Who decides at each step of the cast's community A1 (see tests/conftest.py).
DECIDERS: dict[str, str] = {
    State.DRAFT: "applicant",
    State.REVISION_REQUESTED: "applicant",
    State.COMMUNITY_CONFIRMATION: "community_head",
    State.STREET_REVIEW: "street_reviewer",
    State.STREET_SIGNOFF: "street_leader",
    State.FOUNDATION_REVIEW: "programme_officer",
    State.APPROVAL: "secretary_general",
    State.BOARD_APPROVAL: "board_member",
    State.OBJECTION: "secretary_general",
    State.AGREEMENT: "secretary_general",
    State.IN_PROGRESS: "applicant",
    State.PROGRESS_REVIEW: "programme_officer",
    State.COMPLETION_VERIFICATION: "street_reviewer",
    State.COMPLETION_ACCEPTANCE: "programme_officer",
    State.REPORT_RETURNED: "applicant",
    State.CLOSING: "finance",
}
assert {state for state, step in STEPS.items()} <= set(DECIDERS), "a step without a decider in the tests"


def local_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def end_publicity_by_timer(application: GrantApplication) -> GrantApplication:
    """Let the publicity period run out: travel past it and fire the due workflow timers, as beat does.

    The publicity timer ends the publicity through `grants.services.application_end_publicity`.
    """
    from viewflow.workflow.timers import fire_due_timers

    with after_publicity(application):
        fire_due_timers()
    application.refresh_from_db()
    return application


@contextmanager
def after_publicity(application: GrantApplication):
    """Travel (time_machine, never sleep) to noon of the first day after the publicity period."""
    assert application.publicity_ends_on is not None, "the application has no publicity period"
    with time_machine.travel(local_noon(application.publicity_ends_on + dt.timedelta(days=1)), tick=False):
        yield


def advance(
    application: GrantApplication,
    to_state: State | str,
    cast,
    *,
    return_at: State | str = State.STREET_REVIEW,
    actors: Mapping[str, object] | None = None,
    recommended_amount: Decimal | None = None,
    max_steps: int = 40,
) -> GrantApplication:
    """Walk `application` to `to_state` through the real services, each step taken by the right cast member.

    1. From each state take the next step of the main path (the board when the amount is above the threshold,
       an objection when `to_state` is OBJECTION, the mid-term review when the project owes one).
    2. To reach REVISION_REQUESTED the decider of `return_at` returns the application;
       to reach REPORT_RETURNED the street reviewer returns the completion report.
    `actors` overrides who decides at a state (state -> person); `recommended_amount` defaults to the request.
    """
    to_state = State(to_state)

    def who(state: str):
        if actors and state in actors:
            return actors[state]
        return getattr(cast, DECIDERS[state]) if state in DECIDERS else None

    for _ in range(max_steps):
        state = State(application.status)
        if state == to_state:
            return application
        if state in FINAL_STATES:
            raise AssertionError(f"cannot advance to {to_state}: the application ended in {state}")
        actor = who(state)
        if to_state == State.REVISION_REQUESTED and state == State(return_at):
            services.application_return(actor=actor, application=application, reason="请补充预算明细")
        elif state == State.DRAFT:
            services.application_submit(actor=actor, application=application)
        elif state == State.REVISION_REQUESTED:
            services.application_resubmit(actor=actor, application=application, comment="已按要求修改")
        elif state == State.COMMUNITY_CONFIRMATION:
            services.application_confirm(actor=actor, application=application)
        elif state == State.STREET_REVIEW:
            services.application_street_approve(actor=actor, application=application)
        elif state == State.STREET_SIGNOFF:
            services.application_street_sign_off(actor=actor, application=application)
        elif state == State.FOUNDATION_REVIEW:
            services.application_foundation_recommend(
                actor=actor, application=application, score=85,
                recommended_amount=recommended_amount or application.requested_amount, conditions="按月报送进展")
        elif state == State.APPROVAL:
            services.application_approve(actor=actor, application=application)
        elif state == State.BOARD_APPROVAL:
            services.application_board_approve(actor=actor, application=application, minutes="理事会第3次会议纪要")
        elif state == State.PUBLICITY:
            if to_state == State.OBJECTION:
                services.objection_file(application=application, text="该项目预算偏高", contact="13800000000")
                application.refresh_from_db()
            else:
                end_publicity_by_timer(application)
                if application.status == State.PUBLICITY:
                    raise AssertionError("the publicity timer did not end the publicity")
        elif state == State.OBJECTION:
            objection = application.objections.get(decision=Objection.Decision.PENDING)
            services.objection_decide(actor=actor, objection=objection, uphold=False, reason="经核实，异议不成立")
            application.refresh_from_db()
        elif state == State.AGREEMENT:
            services.agreement_sign(actor=actor, application=application)
        elif state == State.IN_PROGRESS:
            if to_state == State.PROGRESS_REVIEW or (
                    application.midterm_required and application.midterm_accepted_at is None):
                services.progress_report_submit(actor=actor, application=application, progress="中期进展报告",
                                                beneficiaries_served=40, spent_to_date="1000")
            else:
                if not hasattr(application, "completion_report"):
                    write_completion_report(application, actor)
                services.completion_report_submit(actor=actor, application=application)
        elif state == State.PROGRESS_REVIEW:
            services.progress_report_review(actor=actor, application=application, accept=True, comment="中期评估通过")
        elif state == State.COMPLETION_VERIFICATION:
            if to_state == State.REPORT_RETURNED:
                services.completion_return(actor=actor, application=application, reason="缺少受益人签字")
            else:
                services.completion_verify(actor=actor, application=application)
        elif state == State.REPORT_RETURNED:
            services.completion_report_submit(actor=actor, application=application)
        elif state == State.COMPLETION_ACCEPTANCE:
            services.completion_accept(actor=actor, application=application)
        elif state == State.CLOSING:
            pay_payable_tranches(application, cast.finance)
            services.application_close(actor=actor, application=application)
        else:  # pragma: no cover - every non-final state is handled above
            raise AssertionError(f"advance() does not know how to leave {state}")
    raise AssertionError(f"could not reach {to_state} in {max_steps} steps (now {application.status})")


def write_completion_report(application: GrantApplication, applicant, *, spent: Mapping[int, Decimal] | None = None,
                            explanation: str = "") -> None:
    """The applicant fills in the completion report (everything spent as budgeted unless `spent` says otherwise)
    and attaches the documents the fund requires with it."""
    from grants.selectors.reporting import line_budgets
    from tests.factories import upload

    lines = list(application.budget_lines.all())
    budgets = dict(zip([line.pk for line in lines], line_budgets(application, lines), strict=True))
    services.completion_report_save(
        actor=applicant, application=application, outcomes="按计划完成全部服务活动", public_summary="服务老人120人次",
        activities_held=12, served={"elderly": 120},
        spending=[services.SpendingInput(budget_line_id=pk, amount=(spent or {}).get(pk, budget),
                                         explanation=explanation) for pk, budget in budgets.items()])
    present = set(application.attachments.values_list("kind", flat=True))
    for kind in application.fund.completion_documents:
        if kind not in present:
            services.attachment_add(actor=applicant, application=application, kind=kind, file=upload(kind))


def pay_payable_tranches(application: GrantApplication, finance) -> None:
    """Finance pays every tranche of the grant that its conditions made payable."""
    from grants.models import Tranche

    for tranche in application.tranches.filter(status=Tranche.Status.PAYABLE).order_by("number"):
        services.tranche_pay(actor=finance, tranche=tranche, bank_reference=f"BANK-{application.pk}-{tranche.number}")


def snapshot(application: GrantApplication) -> dict[str, object]:
    """Everything a failed action must leave untouched, read from the database."""
    pk = application.pk
    return {
        "row": GrantApplication.objects.filter(pk=pk).values().get(),
        "audit": list(AuditEntry.objects.filter(application_id=pk).values_list("id", flat=True)),
        "objections": list(Objection.objects.filter(application_id=pk).order_by("id")
                           .values_list("id", "decision")),
        "budget": list(BudgetLine.objects.filter(application_id=pk).values_list("category", "description",
                                                                                "amount")),
        "beneficiaries": list(BeneficiaryGroup.objects.filter(application_id=pk).values_list("kind",
                                                                                           "planned_count")),
        "attachments": Attachment.objects.filter(application_id=pk).count(),
        "conflicts": ConflictDeclaration.objects.filter(application_id=pk).count(),
        "ledger": list(application.ledger_entries.values_list("id", flat=True)),
        "tranches": list(application.tranches.order_by("number").values_list("number", "status", "amount")),
    }


def audit_trail(application: GrantApplication) -> list[tuple[str, str, str, str | None]]:
    """(action, from, to, actor username) of each audit entry, oldest first."""
    return [(e.action, e.from_state, e.to_state, e.actor.username if e.actor else None)
            for e in AuditEntry.objects.filter(application=application).select_related("actor").order_by("id")]
