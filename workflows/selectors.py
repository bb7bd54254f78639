"""Reads of the grant process: a person's inbox and queue, scoped and at a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from functools import cache, reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from grants.models import AuditEntry, ConflictDeclaration, Role
from grants.models.organisations import COMMUNITY_ROLES
from grants.permissions import role_keys
from grants.states import ROLE_SCOPE, STEPS, Scope, Step

from .flows import GrantFlow

if TYPE_CHECKING:
    from grants.permissions import AnyUser

PROCESS = "process__grantprocess"
APPLICATION = f"{PROCESS}__application"
# Who may take a task is decided on the organisations copied onto its process (no join to application,
# community or fund); `workflows.receivers` keeps them right when a community or fund moves.
SCOPE_COLUMN = {
    Scope.COMMUNITY: f"{PROCESS}__community_id",
    Scope.STREET: f"{PROCESS}__street_office_id",
    Scope.FOUNDATION: f"{PROCESS}__foundation_id",
}
TAKEN = (STATUS.ASSIGNED, STATUS.STARTED)


@cache
def _open_human_tasks() -> QuerySet[Task]:
    """Human tasks of grant processes with their deadline, oldest first (never evaluated: only cloned)."""
    deadline = (Task.objects.filter(previous=OuterRef("pk"), status=STATUS.SCHEDULED)
                .order_by("scheduled").values("scheduled")[:1])
    # Not yet limited to grant tasks: each list below does that its cheapest way (see GRANT_TASK).
    return (Task.objects.filter(flow_task_type="HUMAN")
            .select_related("owner", f"{APPLICATION}__community", f"{APPLICATION}__category")
            .annotate(deadline=Subquery(deadline))
            .order_by("created", "pk"))


def _human_tasks() -> QuerySet[Task]:
    # Built once per process and cloned for each caller: building it cost about as much as the filters after it.
    return _open_human_tasks().all()


@cache
def _grant_task() -> Q:
    """A task of the grant flow, told by its node's name on the task row (no join to the process).

    The inbox counts a person's tasks this way (a join to the process only to tell grant tasks from other
    flows' cost ~10 ms per 1,000 tasks at 100,000 applications). The queue and an application's tasks
    need no such filter: they filter on the grant process's own columns, which only grant tasks have
    (and an `IN` over the node names there led PostgreSQL to a plan 100 times slower for the queue).
    """
    return Q(flow_task__in=[node for node in GrantFlow.instance.nodes() if node.task_type == "HUMAN"])


def tasks_inbox(user: AnyUser) -> QuerySet[Task]:
    """Open tasks the user has taken or was given, oldest first, each with its service-time deadline."""
    return _human_tasks().filter(_grant_task(), owner=user, status__in=TAKEN)


def _barred_after(step: Step) -> frozenset[str]:
    """States whose sign-off by a person bars them from this step (separation of duties in its chain)."""
    if step.chain is None:
        return frozenset()
    return frozenset(s.state for s in STEPS.values() if s.chain == step.chain and s.state != step.state
                     and not (step.role == Role.APPLICANT and s.role == Role.APPLICANT))


def _steps_by_role() -> dict[str, tuple[tuple[tuple[str, ...], Q], ...]]:
    """Per role, the flow nodes where it decides, grouped by the earlier sign-offs that bar a person from them.

    Worked out once per process: it depends on the flow and the steps only, not on the person.
    """
    groups: dict[str, dict[tuple[str, ...], list[object]]] = defaultdict(lambda: defaultdict(list))
    for step in STEPS.values():
        node = getattr(GrantFlow, step.state, None)
        if node is not None:
            groups[step.role][tuple(sorted(_barred_after(step)))].append(node)
    return {role: tuple((barred, Q(flow_task__in=nodes)) for barred, nodes in by_barred.items())
            for role, by_barred in groups.items()}


STEPS_BY_ROLE = _steps_by_role()


def _offer_filter(user: AnyUser) -> Q:
    """Tasks offered to the user: a step of a role they hold, in scope, and nothing that bars them.

    1. Per role: its steps, on processes of the organisations where the user holds it (one `IN`);
    2. steps of a sign-off chain: not if the user signed another step of that chain for the application;
    3. roles outside the community: never for the user's own communities, nor with a declared conflict
       (one `NOT EXISTS` for all those roles together).
    """
    orgs_of_role: dict[str, list[int]] = defaultdict(list)
    own_communities: list[int] = []
    for role, scope, org_id in sorted(role_keys(user)):
        orgs_of_role[role].append(org_id)
        if scope == Scope.COMMUNITY and org_id not in own_communities:
            own_communities.append(org_id)
    own_communities.sort()
    application = OuterRef(f"{APPLICATION}_id")
    applicant: list[Q] = []
    others: list[Q] = []
    for role, orgs in orgs_of_role.items():
        steps = []
        for barred, clause in STEPS_BY_ROLE.get(role, ()):
            if barred:
                clause = clause & ~Exists(AuditEntry.objects.filter(application=application, actor=user,
                                                                    from_state__in=barred))
            steps.append(clause)
        if not steps:
            continue
        clause = Q(**{f"{SCOPE_COLUMN[ROLE_SCOPE[Role(role)]]}__in": orgs}) & reduce(or_, steps)
        if role not in COMMUNITY_ROLES and own_communities:
            clause &= ~Q(**{f"{SCOPE_COLUMN[Scope.COMMUNITY]}__in": own_communities})
        (applicant if role == Role.APPLICANT else others).append(clause)
    if others:
        conflict = ConflictDeclaration.objects.filter(application=application, person=user)
        applicant.append(reduce(or_, others) & ~Exists(conflict))
    return reduce(or_, applicant) if applicant else Q(pk__in=[])


def tasks_queue(user: AnyUser) -> QuerySet[Task]:
    """Tasks nobody has taken yet that the user may take, oldest first."""
    if not role_keys(user):
        return Task.objects.none()
    return _human_tasks().filter(_offer_filter(user), status=STATUS.NEW)


def tasks_inbox_and_queue(user: AnyUser) -> QuerySet[Task]:
    """The inbox and the queue in one list (one filter, not a union of the two querysets), oldest first."""
    mine = _grant_task() & Q(owner=user, status__in=TAKEN)
    if role_keys(user):
        mine |= Q(_offer_filter(user), status=STATUS.NEW)
    return _human_tasks().filter(mine)


def tasks_of_application(application_id: int) -> QuerySet[Task]:
    """The application's open human tasks (who holds each, since when, until when)."""
    return _human_tasks().filter(**{f"{APPLICATION}_id": application_id},
                                 status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED])


def tasks_count_capped(tasks: QuerySet[Task], cap: int) -> int:
    """How many tasks there are, counting no further than `cap` + 1 (`COUNT(*)` over a `LIMIT` subquery).

    For the header badges ("99+"): their cost stays fixed however many tasks wait.
    """
    return tasks.order_by().values("pk")[:cap + 1].count()
