"""Shared reads of the grant domain, scoped to what a person may see."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import AuditEntry, GrantApplication
from ..permissions import role_keys
from ..states import State

if TYPE_CHECKING:
    from ..permissions import AnyUser


def applications_visible_to(user: AnyUser) -> QuerySet[GrantApplication]:
    """Applications the user may see: their community's, their street's, or all of their foundation's.

    Street offices and the foundation see an application only once it has left the community (the
    community head confirmed it); afterwards, whatever happens to it.
    """
    base = GrantApplication.objects.select_related("fund", "community__street_office", "category")
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


def applications_with_publicity_over(*, today: dt.date | None = None) -> QuerySet[GrantApplication]:
    """Applications whose publicity period has run out, for the sweep that moves them on."""
    today = today or timezone.localdate()
    return GrantApplication.objects.filter(status=State.PUBLICITY, publicity_ends_on__lt=today)
