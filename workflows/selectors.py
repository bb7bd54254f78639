"""Reads of the grant process: a person's inbox and queue, scoped and at a fixed number of queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from grants.models import AuditEntry, ConflictDeclaration, Role
from grants.models.organisations import COMMUNITY_ROLES
from grants.permissions import role_keys
from grants.states import STEPS, Scope

from .flows import GrantFlow

if TYPE_CHECKING:
    from grants.permissions import AnyUser

APPLICATION = "process__grantprocess__application"
SCOPE_PATH = {
    Scope.COMMUNITY: f"{APPLICATION}__community_id",
    Scope.STREET: f"{APPLICATION}__community__street_office_id",
    Scope.FOUNDATION: f"{APPLICATION}__fund__foundation_id",
}


def _human_tasks() -> QuerySet[Task]:
    deadline = (Task.objects.filter(previous=OuterRef("pk"), status=STATUS.SCHEDULED)
                .order_by("scheduled").values("scheduled")[:1])
    return (Task.objects.filter(flow_task_type="HUMAN", process__flow_class=GrantFlow)
            .select_related("owner", "process__grantprocess__application__community",
                            "process__grantprocess__application__category")
            .annotate(deadline=Subquery(deadline))
            .order_by("created", "pk"))


def tasks_inbox(user: AnyUser) -> QuerySet[Task]:
    """Open tasks the user has taken or was given, oldest first, each with its service-time deadline."""
    return _human_tasks().filter(owner=user, status__in=[STATUS.ASSIGNED, STATUS.STARTED])


def _offer_filter(user: AnyUser) -> Q:
    """Tasks offered to the user: a step of a role they hold, in scope, and nothing that bars them."""
    offered = Q(pk__in=[])
    own_communities = [org for _role, scope, org in role_keys(user) if scope == Scope.COMMUNITY]
    for role, scope, org_id in role_keys(user):
        for step in STEPS.values():
            node = getattr(GrantFlow, step.state, None)
            if step.role != role or node is None:
                continue
            clause = Q(flow_task=node, **{SCOPE_PATH[Scope(scope)]: org_id})
            if role != Role.APPLICANT:
                clause &= ~Exists(ConflictDeclaration.objects.filter(
                    application=OuterRef(APPLICATION), person=user))
            if role not in COMMUNITY_ROLES and own_communities:
                clause &= ~Q(**{f"{SCOPE_PATH[Scope.COMMUNITY]}__in": own_communities})
            if step.chain:
                other_steps = [s.state for s in STEPS.values() if s.chain == step.chain and s.state != step.state
                               and not (role == Role.APPLICANT and s.role == Role.APPLICANT)]
                clause &= ~Exists(AuditEntry.objects.filter(
                    application=OuterRef(APPLICATION), actor=user, from_state__in=other_steps))
            offered |= clause
    return offered


def tasks_queue(user: AnyUser) -> QuerySet[Task]:
    """Tasks nobody has taken yet that the user may take, oldest first."""
    if not role_keys(user):
        return Task.objects.none()
    return _human_tasks().filter(_offer_filter(user), status=STATUS.NEW)


def tasks_of_application(application_id: int) -> QuerySet[Task]:
    """The application's open human tasks (who holds each, since when, until when)."""
    return _human_tasks().filter(**{f"{APPLICATION}_id": application_id},
                                 status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED])


def tasks_count_capped(tasks: QuerySet[Task], cap: int) -> int:
    """How many tasks there are, counting no further than `cap` + 1 (`COUNT(*)` over a `LIMIT` subquery).

    For the header badges ("99+"): their cost stays fixed however many tasks wait.
    """
    return tasks.order_by().values("pk")[:cap + 1].count()
