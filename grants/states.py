"""The states of a grant application and who decides at each review step."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from .models.organisations import Role


class State(models.TextChoices):
    """Where an application stands in its life; changed only by FSM transitions."""

    DRAFT = "draft", _("draft")
    COMMUNITY_CONFIRMATION = "community_confirmation", _("awaiting community confirmation")
    STREET_REVIEW = "street_review", _("street review")
    STREET_SIGNOFF = "street_signoff", _("street leader sign-off")
    REVISION_REQUESTED = "revision_requested", _("returned for revision")
    FOUNDATION_REVIEW = "foundation_review", _("foundation review")
    APPROVAL = "approval", _("awaiting approval")
    BOARD_APPROVAL = "board_approval", _("awaiting board approval")
    PUBLICITY = "publicity", _("in publicity")
    OBJECTION = "objection", _("objection under review")
    AGREEMENT = "agreement", _("awaiting agreement")
    IN_PROGRESS = "in_progress", _("in progress")
    PROGRESS_REVIEW = "progress_review", _("progress report under review")
    COMPLETION_VERIFICATION = "completion_verification", _("completion report: street verification")
    COMPLETION_ACCEPTANCE = "completion_acceptance", _("completion report: foundation acceptance")
    REPORT_RETURNED = "report_returned", _("completion report returned")
    CLOSING = "closing", _("closing")
    CLOSED = "closed", _("closed")
    WITHDRAWN = "withdrawn", _("withdrawn")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class Scope(models.TextChoices):
    """Which organisation of the application a role must belong to."""

    COMMUNITY = "community", _("the applicant's community")
    STREET = "street", _("the community's street office")
    FOUNDATION = "foundation", _("the fund's foundation")


ROLE_SCOPE: dict[str, Scope] = {
    Role.APPLICANT: Scope.COMMUNITY,
    Role.COMMUNITY_HEAD: Scope.COMMUNITY,
    Role.STREET_REVIEWER: Scope.STREET,
    Role.STREET_LEADER: Scope.STREET,
    Role.PROGRAMME_OFFICER: Scope.FOUNDATION,
    Role.SECRETARY_GENERAL: Scope.FOUNDATION,
    Role.BOARD_MEMBER: Scope.FOUNDATION,
    Role.FINANCE: Scope.FOUNDATION,
    Role.AUDITOR: Scope.FOUNDATION,
}


@dataclass(frozen=True)
class Step:
    """A review step: the state it waits in, the role that decides there, and its sign-off chain."""

    state: State
    role: Role
    # Sign-offs in one chain must come from different people (separation of duties); None: not a sign-off.
    chain: str | None
    # The role a late task escalates to.
    escalates_to: Role | None = None


APPROVAL_CHAIN = "approval"
COMPLETION_CHAIN = "completion"

STEPS: dict[str, Step] = {
    step.state: step
    for step in (
        # The applicant's own steps belong to the chain so that the submitter cannot sign a later step.
        Step(State.DRAFT, Role.APPLICANT, APPROVAL_CHAIN),
        Step(State.REVISION_REQUESTED, Role.APPLICANT, APPROVAL_CHAIN),
        Step(State.COMMUNITY_CONFIRMATION, Role.COMMUNITY_HEAD, APPROVAL_CHAIN),
        Step(State.STREET_REVIEW, Role.STREET_REVIEWER, APPROVAL_CHAIN, escalates_to=Role.STREET_LEADER),
        Step(State.STREET_SIGNOFF, Role.STREET_LEADER, APPROVAL_CHAIN),
        Step(State.FOUNDATION_REVIEW, Role.PROGRAMME_OFFICER, APPROVAL_CHAIN,
             escalates_to=Role.SECRETARY_GENERAL),
        Step(State.APPROVAL, Role.SECRETARY_GENERAL, APPROVAL_CHAIN),
        Step(State.BOARD_APPROVAL, Role.BOARD_MEMBER, APPROVAL_CHAIN),
        # The objection is decided by the secretary-general as the foundation's legal representative.
        Step(State.OBJECTION, Role.SECRETARY_GENERAL, None),
        Step(State.AGREEMENT, Role.SECRETARY_GENERAL, None),
        # The applicant implements the project and hands in its reports.
        Step(State.IN_PROGRESS, Role.APPLICANT, None),
        Step(State.REPORT_RETURNED, Role.APPLICANT, None),
        Step(State.PROGRESS_REVIEW, Role.PROGRAMME_OFFICER, None, escalates_to=Role.SECRETARY_GENERAL),
        Step(State.COMPLETION_VERIFICATION, Role.STREET_REVIEWER, COMPLETION_CHAIN,
             escalates_to=Role.STREET_LEADER),
        Step(State.COMPLETION_ACCEPTANCE, Role.PROGRAMME_OFFICER, COMPLETION_CHAIN,
             escalates_to=Role.SECRETARY_GENERAL),
        Step(State.CLOSING, Role.FINANCE, None),
    )
}

# Review steps that can send an application back to its applicant for revision.
RETURNABLE_STATES = (
    State.COMMUNITY_CONFIRMATION,
    State.STREET_REVIEW,
    State.STREET_SIGNOFF,
    State.FOUNDATION_REVIEW,
    State.APPROVAL,
    State.BOARD_APPROVAL,
)
# Review steps that can reject (the community head returns but does not reject its own community's work).
REJECTABLE_STATES = RETURNABLE_STATES[1:]
# The applicant may withdraw until the agreement is signed.
WITHDRAWABLE_STATES = (State.DRAFT, State.REVISION_REQUESTED, *RETURNABLE_STATES, State.PUBLICITY,
                       State.AGREEMENT)
# The foundation may cancel an approved grant (objection upheld is its own transition).
CANCELLABLE_STATES = (State.PUBLICITY, State.AGREEMENT, State.IN_PROGRESS, State.PROGRESS_REVIEW,
                      State.COMPLETION_VERIFICATION, State.COMPLETION_ACCEPTANCE, State.REPORT_RETURNED)
EDITABLE_STATES = (State.DRAFT, State.REVISION_REQUESTED)
FINAL_STATES = (State.CLOSED, State.WITHDRAWN, State.REJECTED, State.CANCELLED)

# What people see for each transition (buttons, audit trail, error messages).
ACTION_LABELS: dict[str, str] = {
    "submit": _("submit"),
    "confirm": _("confirm for the community"),
    "resubmit": _("resubmit"),
    "withdraw": _("withdraw"),
    "return_for_revision": _("return for revision"),
    "reject": _("reject"),
    "street_approve": _("pass street review"),
    "street_sign_off": _("sign off for the street office"),
    "foundation_recommend": _("recommend for approval"),
    "approve": _("approve"),
    "refer_to_board": _("approve and refer to the board"),
    "board_approve": _("approve as the board"),
    "end_publicity": _("end publicity"),
    "receive_objection": _("file an objection"),
    "dismiss_objection": _("dismiss the objection"),
    "uphold_objection": _("uphold the objection"),
    "sign_agreement": _("sign the agreement"),
    "submit_progress_report": _("submit the progress report"),
    "accept_progress_report": _("accept the progress report"),
    "return_progress_report": _("return the progress report"),
    "submit_completion_report": _("submit the completion report"),
    "verify_completion": _("verify the completion report"),
    "return_completion_report": _("return the completion report"),
    "accept_completion": _("accept the completion report"),
    "close": _("close"),
    "cancel": _("cancel the grant"),
}
