"""Use cases that move an application through review, approval, publicity, agreement and completion."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..calendar import add_working_days
from ..errors import ApplicationError
from ..models import GrantApplication, Objection, ProgressReport, Tranche
from .money import amount_parse, commitment_post, commitment_release, grant_cancel_money, tranches_release
from .reporting import obligations_refresh, reporting_plan
from .settlement import final_tranches_settle
from .transitions import require_text, run_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

def application_submit(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The applicant sends a complete draft to the community head for confirmation."""
    return run_transition(application, "submit", actor=actor, comment=comment)


def application_confirm(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The community head confirms the application; it leaves the community for the street office."""
    return run_transition(application, "confirm", actor=actor, comment=comment)


def application_resubmit(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The applicant sends a revised application back to the step that returned it."""
    return run_transition(application, "resubmit", actor=actor, comment=comment)


def application_withdraw(*, actor: User, application: GrantApplication, reason: str) -> GrantApplication:
    """The applicant withdraws the application before an agreement is signed."""
    reason = require_text(reason, field="reason")

    def release_money() -> None:
        if application.ledger_entries.exists():  # withdrawn after approval: give the commitment back
            commitment_release(application=application, actor=actor, reason=reason)

    return run_transition(application, "withdraw", actor=actor, comment=reason, effects=release_money)


def application_return(*, actor: User, application: GrantApplication, reason: str) -> GrantApplication:
    """The reviewer of the current step sends the application back to the applicant with reasons."""
    return run_transition(application, "return_for_revision", actor=actor,
                          comment=require_text(reason, field="reason"))


def application_reject(*, actor: User, application: GrantApplication, reason: str) -> GrantApplication:
    """The reviewer of the current step turns the application down, with reasons."""
    return run_transition(application, "reject", actor=actor, comment=require_text(reason, field="reason"))


def application_street_approve(*, actor: User, application: GrantApplication,
                               comment: str = "") -> GrantApplication:
    """The street reviewer passes the application on to the street leader."""
    return run_transition(application, "street_approve", actor=actor, comment=comment)


def application_street_sign_off(*, actor: User, application: GrantApplication,
                                comment: str = "") -> GrantApplication:
    """The street leader signs off; the application goes to the foundation."""
    return run_transition(application, "street_sign_off", actor=actor, comment=comment)


def application_foundation_recommend(
    *,
    actor: User,
    application: GrantApplication,
    score: int,
    recommended_amount: Decimal | str,
    conditions: str = "",
    comment: str = "",
) -> GrantApplication:
    """The programme officer scores the application and recommends an amount and conditions."""
    amount = amount_parse(recommended_amount, field="recommended_amount")
    if not isinstance(score, int) or not 0 <= score <= 100:
        raise ApplicationError(_("The score must be a whole number from 0 to 100."), code="invalid_score",
                               field="score")

    def record_recommendation() -> None:
        application.score = score
        application.approved_amount = amount
        application.conditions = conditions.strip()

    return run_transition(application, "foundation_recommend", actor=actor, comment=comment,
                          prepare=record_recommendation)


def _start_publicity(application: GrantApplication) -> None:
    application.publicity_ends_on = add_working_days(timezone.localdate(), application.fund.publicity_working_days)


def application_approve(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The secretary-general approves: within the threshold the grant goes public, above it to the board."""
    if application.approved_amount is not None and application.approved_amount > application.fund.board_threshold:
        return run_transition(application, "refer_to_board", actor=actor, comment=comment)
    return run_transition(application, "approve", actor=actor, comment=comment,
                          prepare=lambda: _start_publicity(application),
                          effects=lambda: commitment_post(application=application, actor=actor))


def application_board_approve(*, actor: User, application: GrantApplication, minutes: str,
                              comment: str = "") -> GrantApplication:
    """A board member records the board's decision and its minutes; the grant goes public."""
    minutes = require_text(minutes, field="minutes")

    def record_minutes() -> None:
        application.board_minutes = minutes
        _start_publicity(application)

    return run_transition(application, "board_approve", actor=actor, comment=comment, prepare=record_minutes,
                          effects=lambda: commitment_post(application=application, actor=actor))


def application_end_publicity(*, application: GrantApplication) -> GrantApplication:
    """The publicity period ran out without objection; the agreement can be signed (run by the system)."""
    return run_transition(application, "end_publicity", actor=None,
                          comment=_("Publicity ended on %(date)s without objection.")
                          % {"date": application.publicity_ends_on})


def objection_file(*, application: GrantApplication, text: str, contact: str = "") -> Objection:
    """Anyone files an objection while the grant is in publicity; the grant pauses for review."""
    text = require_text(text, field="text")
    filed: list[Objection] = []
    # Filed inside the transition's own transaction (`prepare`): it stands or falls with the pause.
    run_transition(application, "receive_objection", actor=None, comment=text, prepare=lambda: filed.append(
        Objection.objects.create(application=application, text=text, contact=contact.strip())))
    return filed[0]


def objection_decide(*, actor: User, objection: Objection, uphold: bool, reason: str) -> Objection:
    """The secretary-general upholds (the grant is cancelled) or dismisses (on to the agreement) an objection."""
    reason = require_text(reason, field="reason")
    if objection.decision != Objection.Decision.PENDING:
        raise ApplicationError(_("This objection has already been decided."), code="objection_decided")
    application = objection.application
    with transaction.atomic():
        if uphold:
            run_transition(application, "uphold_objection", actor=actor, comment=reason,
                           effects=lambda: grant_cancel_money(application=application, actor=actor, reason=reason))
        else:
            run_transition(application, "dismiss_objection", actor=actor, comment=reason)
        objection.decision = Objection.Decision.UPHELD if uphold else Objection.Decision.DISMISSED
        objection.save(update_fields=["decision"])
    return objection


def agreement_sign(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The foundation signs the grant agreement; the project starts and its reporting duties are set."""
    reports: list = []

    def plan_reporting() -> None:
        reports.extend(reporting_plan(application))

    def start_project() -> None:
        ProgressReport.objects.bulk_create(reports)  # reporting_plan already set the next due date
        tranches_release(application=application, condition=Tranche.Condition.AGREEMENT_SIGNED)

    return run_transition(application, "sign_agreement", actor=actor, comment=comment, prepare=plan_reporting,
                          effects=start_project)


def completion_verify(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The street reviewer verifies the completion report; the foundation decides next."""
    return run_transition(application, "verify_completion", actor=actor, comment=comment)


def completion_accept(*, actor: User, application: GrantApplication, comment: str = "") -> GrantApplication:
    """The programme officer accepts the completion report; the final tranche pays what was really spent."""
    return run_transition(application, "accept_completion", actor=actor, comment=comment,
                          effects=lambda: final_tranches_settle(application=application, actor=actor))


def application_cancel(*, actor: User, application: GrantApplication, reason: str) -> GrantApplication:
    """The foundation cancels an approved grant (misuse, or the project cannot go on)."""
    reason = require_text(reason, field="reason")

    def end_grant() -> None:
        grant_cancel_money(application=application, actor=actor, reason=reason)
        obligations_refresh(application)

    return run_transition(application, "cancel", actor=actor, comment=reason, effects=end_grant)
