"""The grant process: one human task per sign-off, routed by the application's state.

The flow follows the application's state machine and never writes `status` itself: a person takes
an action through a `grants.services` function, its FSM transition fires, and `workflows.sync`
completes the matching task in the same transaction. Each gateway after a task then routes on the
state the transition reached. Node names equal the state they wait in (`street_review`, ...).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation

from grants.states import State

from . import assignment, timers
from .locks import process_row_lock
from .models import GrantProcess, GrantTask
from .nodes import Routing, SignOff, Wait
from .views import TaskView


def in_state(state: State) -> Callable[[Activation], bool]:
    """A gateway condition: the application has reached `state`."""
    return lambda activation: activation.process.current_application().status == state


def human_task() -> SignOff:
    """A sign-off task with a service-time reminder and an escalation, both non-interrupting."""
    return (
        SignOff(TaskView.as_view())
        .Assign(this.preferred_owner)
        .onCreate(this.task_created)
        .OnTimeout(this.service_time_due, this.remind, interrupting=False)
        .OnTimeout(this.escalation_due, this.escalate, interrupting=False)
    )


class GrantFlow(flow.Flow):
    """From submission to closing: community, street, foundation, publicity, agreement and completion."""

    process_class = GrantProcess
    task_class = GrantTask
    lock_impl = process_row_lock
    process_title = _("Grant application")
    process_description = _("Review, approval, publicity, agreement, implementation and completion.")

    start = flow.StartHandle(this.start_process).Next(this.community_confirmation)

    # --- The approval chain ----------------------------------------------------------------------------
    community_confirmation = human_task().Next(this.after_community_confirmation)
    after_community_confirmation = (
        Routing()
        .Case(this.street_review, in_state(State.STREET_REVIEW))
        .Case(this.revision_requested, in_state(State.REVISION_REQUESTED))
    )

    street_review = human_task().Next(this.after_street_review)
    after_street_review = (
        Routing()
        .Case(this.street_signoff, in_state(State.STREET_SIGNOFF))
        .Case(this.revision_requested, in_state(State.REVISION_REQUESTED))
        .Case(this.rejected, in_state(State.REJECTED))
    )

    street_signoff = human_task().Next(this.after_street_signoff)
    after_street_signoff = (
        Routing()
        .Case(this.foundation_review, in_state(State.FOUNDATION_REVIEW))
        .Case(this.revision_requested, in_state(State.REVISION_REQUESTED))
        .Case(this.rejected, in_state(State.REJECTED))
    )

    foundation_review = human_task().Next(this.after_foundation_review)
    after_foundation_review = (
        Routing()
        .Case(this.approval, in_state(State.APPROVAL))
        .Case(this.revision_requested, in_state(State.REVISION_REQUESTED))
        .Case(this.rejected, in_state(State.REJECTED))
    )

    approval = human_task().Next(this.after_approval)
    after_approval = (
        Routing()
        .Case(this.publicity, in_state(State.PUBLICITY))
        .Case(this.board_approval, in_state(State.BOARD_APPROVAL))
        .Case(this.revision_requested, in_state(State.REVISION_REQUESTED))
        .Case(this.rejected, in_state(State.REJECTED))
    )

    board_approval = human_task().Next(this.after_board_approval)
    after_board_approval = (
        Routing()
        .Case(this.publicity, in_state(State.PUBLICITY))
        .Case(this.revision_requested, in_state(State.REVISION_REQUESTED))
        .Case(this.rejected, in_state(State.REJECTED))
    )

    # The applicant revises; the application goes back to the step that returned it.
    revision_requested = human_task().Next(this.after_revision)
    after_revision = (
        Routing()
        .Case(this.community_confirmation, in_state(State.COMMUNITY_CONFIRMATION))
        .Case(this.street_review, in_state(State.STREET_REVIEW))
        .Case(this.street_signoff, in_state(State.STREET_SIGNOFF))
        .Case(this.foundation_review, in_state(State.FOUNDATION_REVIEW))
        .Case(this.approval, in_state(State.APPROVAL))
        .Case(this.board_approval, in_state(State.BOARD_APPROVAL))
    )

    # --- Publicity: wait N working days unless an objection arrives ---------------------------------------
    publicity = (
        Wait()
        .OnTimeout(this.publicity_due, this.end_publicity, interrupting=True)
        .Next(this.after_publicity)
    )
    # Reached when the wait is completed by a transition: an objection, or the service ending publicity.
    after_publicity = (
        Routing()
        .Case(this.objection, in_state(State.OBJECTION))
        .Case(this.agreement, in_state(State.AGREEMENT))
    )
    end_publicity = flow.Function(this.run_end_publicity).Next(this.agreement)

    objection = human_task().Next(this.after_objection)
    after_objection = (
        Routing()
        .Case(this.agreement, in_state(State.AGREEMENT))
        .Case(this.cancelled, in_state(State.CANCELLED))
    )

    # --- Agreement, implementation and completion ------------------------------------------------------
    agreement = human_task().Next(this.in_progress)

    in_progress = human_task().Next(this.after_in_progress)
    after_in_progress = (
        Routing()
        .Case(this.progress_review, in_state(State.PROGRESS_REVIEW))
        .Case(this.completion_verification, in_state(State.COMPLETION_VERIFICATION))
    )

    progress_review = human_task().Next(this.in_progress)

    completion_verification = human_task().Next(this.after_completion_verification)
    after_completion_verification = (
        Routing()
        .Case(this.completion_acceptance, in_state(State.COMPLETION_ACCEPTANCE))
        .Case(this.report_returned, in_state(State.REPORT_RETURNED))
    )

    completion_acceptance = human_task().Next(this.after_completion_acceptance)
    after_completion_acceptance = (
        Routing()
        .Case(this.closing, in_state(State.CLOSING))
        .Case(this.report_returned, in_state(State.REPORT_RETURNED))
    )

    report_returned = human_task().Next(this.completion_verification)

    closing = human_task().Next(this.closed)

    # --- Ends and the reminders' side paths -------------------------------------------------------------
    closed = flow.End()
    rejected = flow.End()
    cancelled = flow.End()

    remind = flow.Function(this.record_reminder).Next(this.reminded)
    escalate = flow.Function(this.record_escalation).Next(this.reminded)
    reminded = flow.End()

    # --- Handlers (thin: each calls one function of ours) -----------------------------------------------

    def start_process(self, activation: Activation, application, actor) -> GrantProcess:
        # By id: assigning the object would cache this in-flight process on the caller's application.
        activation.process.application_id = application.pk
        activation.process.set_scope(application)
        activation.task.owner = actor
        return activation.process

    def preferred_owner(self, activation: Activation):
        return assignment.preferred_owner(activation)

    def task_created(self, activation: Activation) -> None:
        timers.record_task_created(activation)

    def service_time_due(self, activation: Activation):
        return timers.service_time_due(activation)

    def escalation_due(self, activation: Activation):
        return timers.escalation_due(activation)

    def publicity_due(self, activation: Activation):
        return timers.publicity_due(activation)

    def run_end_publicity(self, activation: Activation) -> None:
        timers.end_publicity(activation)

    def record_reminder(self, activation: Activation) -> None:
        timers.record_service_time_passed(activation)

    def record_escalation(self, activation: Activation) -> None:
        timers.record_escalation(activation)
