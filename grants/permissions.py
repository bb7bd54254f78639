"""Who may act on an application: role, organisation scope, separation of duties and conflicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection
from django.utils.translation import gettext as _

from .models.organisations import COMMUNITY_ROLES, Membership, Role
from .states import ROLE_SCOPE, STEPS, Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from .models.applications import GrantApplication

    AnyUser = AbstractBaseUser | AnonymousUser

# (role, scope, organisation id) triples, cached on the user object for the length of a request.
RoleKey = tuple[str, str, int]
_CACHE_ATTR = "_grant_role_keys"


def role_keys(user: AnyUser) -> frozenset[RoleKey]:
    """Every (role, scope, organisation id) the user holds, loaded once per user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        keys = set()
        for role, community_id, street_id, foundation_id in Membership.objects.filter(user=user).values_list(
                "role", "community_id", "street_office_id", "foundation_id"):
            scope = ROLE_SCOPE[role]
            org_id = {Scope.COMMUNITY: community_id, Scope.STREET: street_id,
                      Scope.FOUNDATION: foundation_id}[scope]
            keys.add((role, scope.value, org_id))
        cached = frozenset(keys)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: AnyUser) -> None:
    """Drop the cached roles after memberships change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def holds_foundation_role(user: AnyUser, role: Role | str, foundation_id: int) -> bool:
    """Whether the user holds a foundation-scoped role (finance, auditor, ...) in that foundation."""
    return (str(role), Scope.FOUNDATION.value, foundation_id) in role_keys(user)


def scope_id(application: GrantApplication, scope: Scope | str) -> int:
    """The id of the organisation of this application that a role of the given scope must belong to."""
    if scope == Scope.COMMUNITY:
        return application.community_id
    if scope == Scope.STREET:
        return application.community.street_office_id
    return application.fund.foundation_id


def holds_role(user: AnyUser, role: Role | str, application: GrantApplication) -> bool:
    """Whether the user holds the role in the organisation this application belongs to for that role."""
    scope = ROLE_SCOPE[role]
    return (str(role), scope.value, scope_id(application, scope)) in role_keys(user)


def is_member_of_applicant(user: AnyUser, application: GrantApplication) -> bool:
    """Whether the user works for the applying community (and so may not review the application)."""
    return any(scope == Scope.COMMUNITY and org_id == application.community_id
               for _role, scope, org_id in role_keys(user))


def has_declared_conflict(user: AnyUser, application: GrantApplication) -> bool:
    """Whether the user declared a conflict of interest on this application."""
    return application.conflicts.filter(person=user).exists()


def _other_chain_states(application: GrantApplication) -> list[str]:
    """The other steps of the sign-off chain the application waits in (empty outside a chain)."""
    step = STEPS.get(application.status)
    if step is None or step.chain is None:
        return []
    return [s.state for s in STEPS.values() if s.chain == step.chain and s.state != step.state
            # The applicant's own steps (drafting, revising) are one role's work, not two sign-offs.
            and not (step.role == Role.APPLICANT and s.role == Role.APPLICANT)]


def _step_label(state: str | None) -> str | None:
    return None if state is None else str(STEPS[state].state.label)


def signed_other_step(user: AnyUser, application: GrantApplication) -> str | None:
    """The label of another step of the same sign-off chain this user already decided, if any."""
    chain_states = _other_chain_states(application)
    if not chain_states:
        return None
    return _step_label(application.audit_entries.filter(actor=user, from_state__in=chain_states)
                       .values_list("from_state", flat=True).first())


def conflict_and_signed_step(user: AnyUser, application: GrantApplication) -> tuple[bool, str | None]:
    """`has_declared_conflict` and `signed_other_step` together, in one query.

    Plain SQL: it runs on every decision, and the ORM's form of it (the user's row annotated with two
    subqueries) took longer to build than the database took to answer it.
    """
    from .models import AuditEntry, ConflictDeclaration

    chain_states = _other_chain_states(application)
    if not chain_states:
        return has_declared_conflict(user, application), None
    quote = connection.ops.quote_name
    sql = (f"SELECT EXISTS (SELECT 1 FROM {quote(ConflictDeclaration._meta.db_table)} "
           "WHERE application_id = %s AND person_id = %s), "
           f"(SELECT from_state FROM {quote(AuditEntry._meta.db_table)} WHERE application_id = %s AND actor_id = %s "
           f"AND from_state IN ({', '.join(['%s'] * len(chain_states))}) ORDER BY id LIMIT 1)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [application.pk, user.pk, application.pk, user.pk, *chain_states])
        conflict, earlier = cursor.fetchone()
    return bool(conflict), _step_label(earlier)


@dataclass(frozen=True)
class MayAct:
    """Transition permission: the role in scope, no declared conflict, no second sign-off in one chain."""

    role: Role
    # Reviewers must not work for the applying community; the community's own roles obviously do.
    outsider: bool = True

    def __call__(self, application: GrantApplication, user: AnyUser) -> bool:
        return self.denial(application, user) is None

    def denial(self, application: GrantApplication, user: AnyUser | None) -> str | None:
        """Why the user may not take this transition now, or None when they may."""
        if user is None or not user.is_authenticated:
            return _("Please log in to do this.")
        if not holds_role(user, self.role, application):
            return _("Only a %(role)s of %(organisation)s may do this.") % {
                "role": self.role.label, "organisation": ROLE_SCOPE[self.role].label}
        if self.role != Role.APPLICANT and self.outsider and is_member_of_applicant(user, application):
            return _("You work for the applying community and may not decide on its application.")
        # Separation of duties applies to signing the step the application waits at (not to, say, withdrawing).
        step = STEPS.get(application.status)
        signs_step = step is not None and step.role == self.role
        if self.role != Role.APPLICANT:
            if signs_step:  # both bars in one query
                conflict, other = conflict_and_signed_step(user, application)
            else:
                conflict, other = has_declared_conflict(user, application), None
            if conflict:
                return _("You declared a conflict of interest on this application and must stay out of it.")
        else:
            other = signed_other_step(user, application) if signs_step else None
        if other is not None:
            return _("You already signed the step “%(step)s” of this application; "
                     "another person must sign this one.") % {"step": other}
        return None


def step_permission(state: str) -> MayAct:
    """The permission of whoever decides at the step that waits in `state`."""
    step = STEPS[state]
    return MayAct(step.role, outsider=step.role not in COMMUNITY_ROLES)


class CurrentStepDecider:
    """Transition permission for actions open at every review step: whoever decides at the current one."""

    def __call__(self, application: GrantApplication, user: AnyUser) -> bool:
        return self.denial(application, user) is None

    def denial(self, application: GrantApplication, user: AnyUser | None) -> str | None:
        return step_permission(application.status).denial(application, user)


def may_pay(user: AnyUser, application: GrantApplication) -> str | None:
    """Why the user may not pay this application's money (finance, and not one of its approvers)."""
    if not holds_role(user, Role.FINANCE, application):
        return _("Only finance staff of the foundation may pay grants.")
    if application.audit_entries.filter(actor=user, from_state__in=[s for s, step in STEPS.items()
                                                                     if step.chain]).exists():
        return _("You signed this application's approval and may not also pay it.")
    if has_declared_conflict(user, application):
        return _("You declared a conflict of interest on this application and must stay out of it.")
    return None
