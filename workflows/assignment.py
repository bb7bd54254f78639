"""Who a new task goes to directly; otherwise it is offered to everyone eligible (selectors.tasks_queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grants.models import AuditEntry
from grants.permissions import step_permission
from grants.states import STEPS

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from viewflow.workflow.activation import Activation

RETURN_ACTIONS = ("return_for_revision", "return_completion_report")


def preferred_owner(activation: Activation) -> AbstractBaseUser | None:
    """Who gets a new task straight in their inbox, or None to offer it to everyone eligible.

    1. A step that returned the application goes back to the person who returned it.
    2. The applicant's own steps go to whoever created the application.
    """
    application = activation.process.application
    state = activation.flow_task.name
    permission = step_permission(state)
    last = (AuditEntry.objects.filter(application=application, from_state=state)
            .select_related("actor").order_by("-id").first())
    if last is not None and last.action in RETURN_ACTIONS and last.actor is not None:
        if permission.denial(application, last.actor) is None:
            return last.actor
    if STEPS[state].role == "applicant" and permission.denial(application, application.created_by) is None:
        return application.created_by
    return None
