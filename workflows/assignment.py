"""Who a new task goes to directly; otherwise it is offered to everyone eligible (selectors.tasks_queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

from grants.models import AuditEntry
from grants.permissions import step_permission
from grants.states import STEPS

from .models import in_flight

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from viewflow.workflow.activation import Activation

    from grants.models import GrantApplication

RETURN_ACTIONS = ("return_for_revision", "return_completion_report")


def _returned_by(application: GrantApplication, state: str) -> AbstractBaseUser | None:
    """Who returned the application when it last left `state`, if it left it by a return.

    `workflows.sync` usually read the latest exit already (with the open task it completes); otherwise
    (the first task of a process) it is read here.
    """
    flight = in_flight(application.pk)
    if flight is not None and state in flight.last_exits:
        action, actor_id = flight.last_exits[state]
        if action not in RETURN_ACTIONS or actor_id is None:
            return None
        return get_user_model().objects.filter(pk=actor_id).first()
    last = (AuditEntry.objects.filter(application=application, from_state=state)
            .select_related("actor").order_by("-id").first())
    if last is None or last.action not in RETURN_ACTIONS:
        return None
    return last.actor


def preferred_owner(activation: Activation) -> AbstractBaseUser | None:
    """Who gets a new task straight in their inbox, or None to offer it to everyone eligible.

    1. A step that returned the application goes back to the person who returned it.
    2. The applicant's own steps go to whoever created the application.
    """
    application = activation.process.current_application()
    state = activation.flow_task.name
    permission = step_permission(state)
    returned_by = _returned_by(application, state)
    if returned_by is not None and permission.denial(application, returned_by) is None:
        return returned_by
    if STEPS[state].role == "applicant" and permission.denial(application, application.created_by) is None:
        return application.created_by
    return None
