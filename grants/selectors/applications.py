"""Shared reads of the grant domain, scoped to what a person may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from ..models import AuditEntry, GrantApplication
from ..permissions import role_keys

if TYPE_CHECKING:
    from ..permissions import AnyUser


# What the pages show with an application; deciding on one needs only its fund and community (the scope).
SHOWN_WITH_APPLICATION = ("fund", "community__street_office", "category")
NEEDED_TO_DECIDE = ("fund", "community")


def applications_visible_to(user: AnyUser, *,
                            loading: tuple[str, ...] = SHOWN_WITH_APPLICATION) -> QuerySet[GrantApplication]:
    """Applications the user may see: their community's, their street's, or all of their foundation's.

    Street offices and the foundation see an application only once it has left the community (the
    community head confirmed it); afterwards, whatever happens to it. `loading`: the related rows read
    with each application.
    """
    base = GrantApplication.objects.select_related(*loading)
    if getattr(user, "is_superuser", False):
        return base
    keys = role_keys(user)
    communities = {org for _role, scope, org in keys if scope == "community"}
    streets = {org for _role, scope, org in keys if scope == "street"}
    foundations = {org for _role, scope, org in keys if scope == "foundation"}
    if not (communities or streets or foundations):
        return base.none()
    left_community = Q(confirmed_at__isnull=False)
    scope = (Q(community_id__in=communities)
             | (Q(community__street_office_id__in=streets) & left_community)
             | (Q(fund__foundation_id__in=foundations) & left_community))
    return base.filter(scope)


def application_audit_trail(application: GrantApplication) -> QuerySet[AuditEntry]:
    """The application's state changes, oldest first, with the actors loaded."""
    return application.audit_entries.select_related("actor").order_by("id")


def role_holders(application: GrantApplication, role: str) -> QuerySet:
    """Active people holding `role` in the organisation of the application that role answers for."""
    from django.contrib.auth import get_user_model

    from ..models import Membership
    from ..permissions import ROLE_SCOPE, scope_id

    scope = ROLE_SCOPE[role]
    org_field = {"community": "community_id", "street": "street_office_id", "foundation": "foundation_id"}[scope]
    holders = Membership.objects.filter(role=role, **{org_field: scope_id(application, scope)})
    return get_user_model().objects.filter(is_active=True, pk__in=holders.values("user_id")).order_by("pk")
