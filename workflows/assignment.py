"""Who a task is offered to: everyone holding the step's role in scope, never someone barred."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from grants.models import AuditEntry, GrantApplication, Membership
from grants.permissions import ROLE_SCOPE, scope_id, step_permission
from grants.states import STEPS, Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from viewflow.workflow.activation import Activation

RETURN_ACTIONS = ("return_for_revision", "return_completion_report")


def candidates(application: GrantApplication, state: str) -> QuerySet:
    """Active users holding the role of the step waiting in `state`, in the application's scope."""
    role = STEPS[state].role
    scope = ROLE_SCOPE[role]
    org_field = {Scope.COMMUNITY: "community_id", Scope.STREET: "street_office_id",
                 Scope.FOUNDATION: "foundation_id"}[scope]
    holders = Membership.objects.filter(role=role, **{org_field: scope_id(application, scope)})
    return get_user_model().objects.filter(is_active=True, pk__in=holders.values("user_id")).order_by("pk")


def eligible_users(application: GrantApplication, state: str) -> list[AbstractBaseUser]:
    """Candidates not barred by separation of duties, a declared conflict or working for the applicant."""
    permission = step_permission(state)
    return [user for user in candidates(application, state) if permission.denial(application, user) is None]


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
