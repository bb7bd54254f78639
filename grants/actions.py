"""The actions a person can take on an application, the inputs each needs, and which service runs it.

The web UI and the API both offer and take actions through this table, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .errors import ApplicationConflict, ApplicationError
from .models import GrantApplication, Objection
from .services.transitions import transition_denial
from .states import ACTION_LABELS, State

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class Input:
    """One value an action asks for."""

    name: str
    label: str
    kind: str = "text"  # text | integer | money | choice
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()


COMMENT = Input("comment", gettext_lazy("comment"))
REASON = Input("reason", gettext_lazy("reason"), required=True)


@dataclass(frozen=True)
class Action:
    """A user-facing action: the FSM transitions it may fire and the service that fires them."""

    name: str
    transitions: tuple[str, ...]
    run: Callable[..., Any]
    inputs: tuple[Input, ...] = (COMMENT,)
    danger: bool = False

    @property
    def label(self) -> str:
        return str(ACTION_LABELS[self.name])


def _pending_objection(application: GrantApplication) -> Objection:
    objection = application.objections.filter(decision=Objection.Decision.PENDING).order_by("-filed_at").first()
    if objection is None:
        raise ApplicationError(_("There is no pending objection to decide."), code="no_objection")
    return objection


def _decide_objection(uphold: bool) -> Callable[..., Any]:
    def run(*, actor: AbstractBaseUser, application: GrantApplication, reason: str) -> Objection:
        return services.objection_decide(actor=actor, objection=_pending_objection(application), uphold=uphold,
                                         reason=reason)
    return run


ACTIONS: dict[str, Action] = {action.name: action for action in (
    Action("submit", ("submit",), services.application_submit),
    Action("confirm", ("confirm",), services.application_confirm),
    Action("resubmit", ("resubmit",), services.application_resubmit),
    Action("street_approve", ("street_approve",), services.application_street_approve),
    Action("street_sign_off", ("street_sign_off",), services.application_street_sign_off),
    Action("foundation_recommend", ("foundation_recommend",), services.application_foundation_recommend,
           inputs=(Input("score", gettext_lazy("score (0-100)"), "integer", required=True),
                   Input("recommended_amount", gettext_lazy("recommended amount (yuan)"), "money", required=True),
                   Input("conditions", gettext_lazy("conditions of the grant")), COMMENT)),
    Action("approve", ("approve", "refer_to_board"), services.application_approve),
    Action("board_approve", ("board_approve",), services.application_board_approve,
           inputs=(Input("minutes", gettext_lazy("board decision minutes"), required=True), COMMENT)),
    Action("return_for_revision", ("return_for_revision",), services.application_return, inputs=(REASON,)),
    Action("reject", ("reject",), services.application_reject, inputs=(REASON,), danger=True),
    Action("dismiss_objection", ("dismiss_objection",), _decide_objection(False), inputs=(REASON,)),
    Action("uphold_objection", ("uphold_objection",), _decide_objection(True), inputs=(REASON,), danger=True),
    Action("sign_agreement", ("sign_agreement",), services.agreement_sign),
    Action("submit_progress_report", ("submit_progress_report",), services.progress_report_submit,
           inputs=(Input("progress", gettext_lazy("progress so far"), required=True),
                   Input("beneficiaries_served", gettext_lazy("people served so far"), "integer"),
                   Input("spent_to_date", gettext_lazy("spent so far (yuan)"), "money"))),
    Action("accept_progress_report", ("accept_progress_report",),
           lambda *, actor, application, comment="": services.progress_report_review(
               actor=actor, application=application, accept=True, comment=comment)),
    Action("return_progress_report", ("return_progress_report",),
           lambda *, actor, application, reason: services.progress_report_review(
               actor=actor, application=application, accept=False, comment=reason), inputs=(REASON,)),
    Action("submit_completion_report", ("submit_completion_report",), services.completion_report_submit),
    Action("verify_completion", ("verify_completion",), services.completion_verify),
    Action("return_completion_report", ("return_completion_report",), services.completion_return,
           inputs=(REASON,)),
    Action("accept_completion", ("accept_completion",), services.completion_accept),
    Action("close", ("close",), services.application_close,
           inputs=(Input("unspent_to", gettext_lazy("unspent money"), "choice",
                         choices=tuple(services.UnspentMoney.choices)),
                   Input("transfer_to", gettext_lazy("project the money moves to (number)"), "integer"),
                   Input("reason", gettext_lazy("reason (disclosed to the public)")), COMMENT)),
    Action("withdraw", ("withdraw",), services.application_withdraw, inputs=(REASON,), danger=True),
    Action("cancel", ("cancel",), services.application_cancel, inputs=(REASON,), danger=True),
)}


def available_actions(application: GrantApplication, user: AbstractBaseUser) -> list[Action]:
    """The actions the user may take on the application now (state and permission; conditions run on taking)."""
    return [action for action in ACTIONS.values()
            if any(transition_denial(application, name, user) is None for name in action.transitions
                   if getattr(application, name)._django_fsm.get_transition(application.status))]


def _refuse_if_stale(application: GrantApplication, expected_state: str | None) -> None:
    """Refuse an action decided on a state the application has left (someone else acted first)."""
    if expected_state is None or expected_state == application.status:
        return
    # A web form's hidden input can be tampered with: an unknown state is named as sent, never a 500.
    expected = State(expected_state).label if expected_state in State.values else expected_state
    raise ApplicationConflict(
        _("The application is “%(state)s” now, not “%(expected)s”: reload it and decide again.")
        % {"state": application.get_status_display(), "expected": expected},
        code="stale_state", field="expected_state")


def action_perform(*, action: str, actor: AbstractBaseUser, application: GrantApplication,
                   data: Mapping[str, Any], expected_state: str | None = None) -> Any:
    """Take a named action with the inputs it declares (others are ignored; missing required ones refused).

    `expected_state`: the state the person saw when deciding; if the application has left it since, the
    action is refused (`stale_state`) instead of being taken on a state they did not see.
    """
    found = ACTIONS.get(action)
    if found is None:
        raise ApplicationError(_("Unknown action."), code="unknown_action", field="action")
    _refuse_if_stale(application, expected_state)
    kwargs: dict[str, Any] = {}
    for spec in found.inputs:
        value = data.get(spec.name)
        if value in (None, ""):
            if spec.required:
                raise ApplicationError(_("“%(field)s” is required.") % {"field": spec.label},
                                       code="required", field=spec.name)
            continue
        if spec.kind == "choice" and value not in dict(spec.choices):
            raise ApplicationError(_("Please choose one of the options for “%(field)s”.") % {"field": spec.label},
                                   code="invalid_choice", field=spec.name)
        if spec.kind == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError) as exc:
                raise ApplicationError(_("“%(field)s” must be a whole number.") % {"field": spec.label},
                                       code="invalid_number", field=spec.name) from exc
        kwargs[spec.name] = value
    return found.run(actor=actor, application=application, **kwargs)
